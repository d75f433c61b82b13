// Mirrors of the serde types the Tauri commands return (camelCase on the wire).

export type Role = 'system' | 'user' | 'assistant';
/** Where a message's text came from; every non-model reply is labelled as such in the UI. */
export type MessageSource = 'user' | 'greeting' | 'script' | 'model';

export interface PersonaSummary {
  id: number;
  slug: string;
  name: string;
  tagline: string;
  initial: string;
  lineCount: number;
}

export interface StyleScoreColumns {
  overall: number | null;
  lexical: number | null;
  syntactic: number | null;
  pragmatic: number | null;
  oocFlags: unknown;
}

export interface Message {
  id: number;
  chatId: number;
  seq: number;
  role: Role;
  content: string;
  source: MessageSource;
  style: StyleScoreColumns;
  modelId: number | null;
  adapterId: number | null;
  createdAt: number;
}

export interface Chat {
  id: number;
  personaId: number;
  title: string;
  createdAt: number;
  updatedAt: number;
}

export interface ChatView {
  chat: Chat;
  persona: PersonaSummary;
  messages: Message[];
}

export interface CommandError {
  code: string;
  message: string;
}

export interface DeviceInfo {
  kind: 'cpu' | 'cuda' | 'metal';
  threads: number;
  simd: string;
}

export interface ReplierStatus {
  /** The installed chat model's id; null when replies come from the script. */
  model: string | null;
  /** Where the model runs, once loaded. */
  device: DeviceInfo | null;
}

export interface AppStatus {
  version: string;
  dataDir: string;
  startupError: CommandError | null;
  replyMode: 'script' | 'model';
  replier: ReplierStatus | null;
}

export type StopReason = 'endOfTurn' | 'stopString' | 'maxTokens' | 'contextFull' | 'cancelled';

export interface GenerationStats {
  promptTokens: number;
  reusedTokens: number;
  generatedTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  timeToFirstTokenMs: number;
  stopReason: StopReason;
}

/** What the reply channel carries while a reply is written. */
export type ReplyEvent = { kind: 'userMessage'; message: Message } | { kind: 'piece'; text: string };

export interface SentReply {
  userMessage: Message;
  /** null when stopped before the first word. */
  reply: Message | null;
  stats: GenerationStats | null;
}

/** A reply being written: its text so far. */
export interface StreamingReply {
  chatId: number;
  text: string;
  pieces: number;
}
