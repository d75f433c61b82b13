//! kotodama-engine: candle decoder (llama/qwen2/qwen3) with LoRA, GGUF/safetensors loading, tokenizer,
//! chat template, sampler, generation and training.
