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
  /** What the out-of-character guard did before keeping this reply; null when it wrote one attempt. */
  guard: GuardReport | null;
}

export type GuardAction = 'regenerate' | 'rewrite' | 'off';

export interface GuardReport {
  action: GuardAction;
  attempts: number;
  /** Which attempt (from 1) was kept. */
  kept: number;
  /** Why each caught attempt was caught. */
  caught: string[];
}

export interface Message {
  id: number;
  chatId: number;
  /** Position in the chat; its alternatives (swipes) share it. */
  seq: number;
  /** Which alternative of the position this is, from 0. */
  altIndex: number;
  /** How many alternatives the position holds. */
  altCount: number;
  role: Role;
  content: string;
  source: MessageSource;
  style: StyleScoreColumns;
  modelId: number | null;
  adapterId: number | null;
  createdAt: number;
  /** When the user changed the text; null when it is as written. */
  editedAt: number | null;
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
  /** All chats with this persona (branches included), most recently active first. */
  chats: Chat[];
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
  /** The chat held in the model's KV cache (its next reply prefills only the new message). */
  cached: { chatId: number; tokens: number } | null;
}

/** Personas whose style profile an older analyzer wrote, being analysed again: `done` of `total`. */
export interface ProfileUpdate {
  done: number;
  total: number;
}

export interface AppStatus {
  version: string;
  dataDir: string;
  startupError: CommandError | null;
  replyMode: 'script' | 'model';
  replier: ReplierStatus | null;
  /** Null when no profile needed updating at start. */
  profileUpdate: ProfileUpdate | null;
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
export type ReplyEvent =
  | { kind: 'userMessage'; message: Message }
  | { kind: 'piece'; text: string }
  /** The attempt streamed so far was caught out of character: its text is dropped, attempt `attempt` follows. */
  | { kind: 'retry'; attempt: number; of: number; cause: string };

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
  /** The position of the reply it will become an alternative of (hidden while it is written); null for a new reply. */
  replacesSeq: number | null;
  /** Set while the guard writes another attempt after catching one. */
  retry: { attempt: number; of: number; cause: string } | null;
}

/** What the user can do with a stored message (absent on the reply being written). */
export interface BubbleControls {
  /** Messages after this one. */
  later: number;
  regenerate: 'alternative' | 'reply' | null;
  /** Actions wait while a reply is written. */
  busy: boolean;
  onchoose: (index: number) => void;
  onregenerate: () => void;
  onedit: (text: string) => Promise<boolean>;
  onbranch: () => void;
  ondelete: () => void;
}

export interface SpeakerSummary {
  name: string;
  lineCount: number;
  sampleLines: string[];
}

/** A file previewed by the import wizard: a script with its speakers, or a card. */
export type UploadPreview = { uploadId: number; file: string; size: number } & (
  | { kind: 'script'; format: string; encoding: string; speakers: SpeakerSummary[] }
  | { kind: 'card'; name: string; tagline: string; hasAvatar: boolean; lorebookEntries: number; hasProfile: boolean }
);

export type ImportPhase =
  | { phase: 'reading' }
  | { phase: 'analyzing'; speaker: string; lines: number }
  | { phase: 'storing' };

export interface LexicalSignature {
  term: string;
  n: number;
  pmi: number;
  count: number;
  ratePer1k: number;
  catchphrase: boolean;
}

export interface GrammarRule {
  rule: string;
  gloss: string | null;
  logOdds: number;
  z: number;
  count: number;
}

export interface PragmaticTrait {
  name: string;
  value: number;
  background: number;
  zOrRatio: number;
}

export interface ProfileView {
  version: number;
  versions: number[];
  lineCount: number;
  tokenCount: number;
  lexical: LexicalSignature[];
  rules: GrammarRule[];
  traits: PragmaticTrait[];
  /** Each trait in plain words, by trait name (names are ids, never shown). */
  traitGlosses: Record<string, string>;
  /** Script lines that show each row: by signature term, by rule, by trait name. */
  examples: { signatures: Record<string, string[]>; rules: Record<string, string[]>; traits: Record<string, string[]> };
}

/** One entry in both versions of a profile; null where it is not in that version's ranking. */
export interface ProfileChange {
  key: string;
  label: string | null;
  before: number | null;
  after: number | null;
}

export interface ProfileDiff {
  fromVersion: number;
  toVersion: number;
  lineCounts: [number, number];
  signatures: ProfileChange[];
  rules: ProfileChange[];
  traits: ProfileChange[];
}

export type DistillTask = 'respond' | 'rewrite';

export interface TaskScores {
  task: DistillTask;
  examples: number;
  style: number;
  fidelity: number | null;
  validStyle: number;
  copyRate: number;
  attribution: number;
  signatureRate: number;
  scriptSignatureRate: number;
  distinct2: number;
}

export interface EvalSample {
  task: DistillTask;
  input: string;
  output: string;
  reference: string;
}

export interface SystemScores {
  system: string;
  split: 'train' | 'validation' | 'test';
  tasks: TaskScores[];
  samples: EvalSample[];
}

export interface Difference {
  mean: number;
  low: number;
  high: number;
}

/** Whether the adapter beat the base model on the persona's validation lines; chats use only those that did. */
export interface Verdict {
  baseValidStyle: number;
  adapterValidStyle: number;
  difference: Difference;
  beatsBase: boolean;
}

/** A distilled adapter's report, or (with `importedFrom`, no training fields) an imported one's. */
export interface DistillReport {
  baseModel: string;
  variant: 'vanilla' | 'step-by-step' | 'plan-dropout' | 'cot';
  stage?: 'sft' | 'dpo';
  importedFrom?: string;
  trainExamples?: number;
  validationLossBase?: number;
  validationLossAdapter?: number;
  losses?: number[];
  trainSeconds?: number;
  tokensPerSecond?: number;
  evaluation: SystemScores[];
  verdict?: Verdict | null;
}

export interface AdapterRecord {
  id: number;
  personaId: number;
  variant: string;
  rank: number;
  report: DistillReport | null;
  createdAt: number;
}

export interface PersonaPage {
  persona: PersonaSummary;
  description: string;
  speaker: string | null;
  profile: ProfileView | null;
  adapters: AdapterRecord[];
  chatAdapter: AdapterChoice;
}

/** Which adapter a persona's chats use: the newest (default), none (base model), or a chosen one. */
export type AdapterChoice = { kind: 'newest' } | { kind: 'none' } | { kind: 'adapter'; id: number };

export interface DistillStatus {
  jobId: number;
  personaId: number;
  phase: string;
  done: number;
  total: number;
  loss: number | null;
  tokensPerSecond: number | null;
  etaSeconds: number | null;
  losses: number[];
  state: 'running' | 'done' | 'cancelled' | 'failed';
  error: string | null;
}

export type CardFormat = 'png' | 'json' | 'charx';

export type Theme = 'system' | 'light' | 'dark';

export interface GuardSettings {
  action: GuardAction;
  /** Replies written per message at most, the first included. */
  attempts: number;
  /** Style score (0..1) below which a reply is caught; null: from the persona's script. */
  threshold: number | null;
}

/** A persona's sampler and out-of-character guard. */
export interface ChatSettings {
  temperature: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  guard: GuardSettings;
}

export interface RuntimeSettings {
  device: 'auto' | 'cpu' | 'cuda' | 'metal';
  /** 0 = all cores. */
  threads: number;
}

export interface InstalledModel {
  id: string;
  kind: 'chat' | 'embedder';
  path: string;
  source: string;
  sizeBytes: number;
}

export interface SettingsView {
  theme: Theme;
  dataDir: string;
  models: InstalledModel[];
  chatModel: string | null;
  runtime: RuntimeSettings;
  device: DeviceInfo | null;
}

export interface DownloadProgress {
  file: string;
  downloadedBytes: number;
  totalBytes: number | null;
}

/** What a reply realizes of its character's style (the style meter's explanation). */
export interface StylePlan {
  signatures: string[];
  rules: { rule: string; gloss: string | null }[];
  traits: { name: string; gloss?: string; evidence: string }[];
}
