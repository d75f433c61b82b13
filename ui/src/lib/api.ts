// Typed wrappers over the Tauri commands of src-tauri/src/commands.rs.
import { Channel, invoke } from '@tauri-apps/api/core';
import type {
  AdapterChoice,
  AppStatus,
  CardFields,
  CardFormat,
  ChatSettings,
  DownloadProgress,
  InstalledModel,
  ChatView,
  ErrorView,
  DistillStatus,
  ImportPhase,
  KeyKept,
  LocalServerSettings,
  LorebookView,
  LocalServerStatus,
  MessageView,
  PersonaPage,
  PersonaSummary,
  ProfileDiff,
  PromptTurn,
  RemoteModel,
  ChatEvent,
  RuntimeSettings,
  SentReply,
  SettingsView,
  StylePlan,
  Theme,
  UploadPreview,
  UserPersonas,
} from './types';

export const api = {
  appStatus: () => invoke<AppStatus>('app_status'),
  listPersonas: () => invoke<PersonaSummary[]>('list_personas'),
  openChat: (personaId: number) => invoke<ChatView>('open_chat', { personaId }),
  newChat: (personaId: number) => invoke<ChatView>('new_chat', { personaId }),
  /** The signatures, rules and traits a message shows; null when its character has no profile. */
  explainStyle: (messageId: number) => invoke<StylePlan | null>('explain_style', { messageId }),
  /** Stores the message and streams the reply: `onEvent` gets the stored user message, then the pieces. */
  sendMessage: (chatId: number, text: string, onEvent: (e: ChatEvent) => void) => {
    const channel = new Channel<ChatEvent>();
    channel.onmessage = onEvent;
    return invoke<SentReply>('send_message', { chatId, text, onEvent: channel });
  },
  /** Streams another alternative of the last reply (or the missing reply to a last message of the user). */
  regenerateReply: (chatId: number, onEvent: (e: ChatEvent) => void) => {
    const channel = new Channel<ChatEvent>();
    channel.onmessage = onEvent;
    return invoke<SentReply>('regenerate_reply', { chatId, onEvent: channel });
  },
  showChat: (chatId: number) => invoke<ChatView>('show_chat', { chatId }),
  /** What the model would be given to reply next in the chat. */
  nextPrompt: (chatId: number) => invoke<PromptTurn[]>('next_prompt', { chatId }),
  /** Chooses alternative `index` (from 0) of the message's position; returns the chosen one. */
  chooseAlternative: (messageId: number, index: number) => invoke<MessageView>('choose_alternative', { messageId, index }),
  editMessage: (messageId: number, text: string) => invoke<MessageView>('edit_message', { messageId, text }),
  /** Deletes this one message (with its alternatives); later messages stay. Returns the chat. */
  deleteMessage: (messageId: number) => invoke<ChatView>('delete_message', { messageId }),
  /** A new chat with the conversation up to and including this message. */
  branchChat: (messageId: number) => invoke<ChatView>('branch_chat', { messageId }),
  /** Stops the reply being written in this chat; false when none was. */
  stopReply: (chatId: number) => invoke<boolean>('stop_reply', { chatId }),
  /** Sends a file's bytes as the raw request body; the core previews it and keeps it for `importUpload`. */
  previewImport: (fileName: string, bytes: Uint8Array) =>
    invoke<UploadPreview>('preview_import', bytes, { headers: { 'x-file-name': encodeURIComponent(fileName) } }),
  /** Imports the previewed file; a script's persona gets `card` (as edited after `draftCard`), or its draft. */
  importUpload: (uploadId: number, speaker: string | null, name: string | null, card: CardFields | null, onPhase: (p: ImportPhase) => void) => {
    const channel = new Channel<ImportPhase>();
    channel.onmessage = onPhase;
    return invoke<number>('import_upload', { uploadId, speaker, name, card, onPhase: channel });
  },
  /** The card a script upload would make for the speaker, drafted from their lines. */
  draftCard: (uploadId: number, speaker: string | null, name: string | null) => invoke<CardFields>('draft_card', { uploadId, speaker, name }),
  personaPage: (personaId: number) => invoke<PersonaPage>('persona_page', { personaId }),
  /** The persona's image as PNG bytes (empty when it has none). */
  personaAvatar: (personaId: number) => invoke<ArrayBuffer>('persona_avatar', { personaId }),
  /** Makes a PNG the persona's image. */
  setAvatar: (personaId: number, bytes: Uint8Array) =>
    invoke<PersonaSummary>('set_avatar', bytes, { headers: { 'x-persona-id': String(personaId) } }),
  /** The persona's card as the character editor shows it. */
  cardFields: (personaId: number) => invoke<CardFields>('card_fields', { personaId }),
  lorebookView: (personaId: number) => invoke<LorebookView>('lorebook_view', { personaId }),
  /** Saves the edited lorebook into the card (a new card revision). */
  saveLorebook: (personaId: number, book: LorebookView) => invoke<LorebookView>('save_lorebook', { personaId, book }),
  /** Adds the entries of a SillyTavern World Info file (its text) to the lorebook. */
  importWorldInfo: (personaId: number, text: string) => invoke<LorebookView>('import_world_info', { personaId, text }),
  /** Writes the lorebook as World Info JSON into the data folder's exports; returns the path. */
  exportWorldInfo: (personaId: number) => invoke<string>('export_world_info', { personaId }),
  /** Saves the edited card as its newest revision; returns the persona's page. */
  saveCard: (personaId: number, fields: CardFields) => invoke<PersonaPage>('save_card', { personaId, fields }),
  profileDiff: (personaId: number, from: number, to: number) =>
    invoke<ProfileDiff>('profile_diff', { personaId, from, to }),
  /** Chooses the adapter the persona's chats use; returns the updated page. */
  setChatAdapter: (personaId: number, choice: AdapterChoice) =>
    invoke<PersonaPage>('set_chat_adapter', { personaId, choice }),
  /** Writes the card into the data folder's exports/ and returns its path. */
  exportPersona: (personaId: number, format: CardFormat) => invoke<string>('export_persona', { personaId, format }),
  /** Starts distilling the persona (quick preset; `steps` overrides its step count). Returns the job id. */
  startDistill: (personaId: number, steps: number | null) => invoke<number>('start_distill', { personaId, steps }),
  distillStatus: (personaId: number) => invoke<DistillStatus | null>('distill_status', { personaId }),
  cancelDistill: (jobId: number) => invoke<boolean>('cancel_distill', { jobId }),
  /** Resumes a stopped distillation from its checkpoint. */
  resumeDistill: (jobId: number) => invoke<void>('resume_distill', { jobId }),
  settingsView: () => invoke<SettingsView>('settings_view'),
  setTheme: (theme: Theme) => invoke<void>('set_theme', { theme }),
  userPersonas: () => invoke<UserPersonas>('user_personas'),
  /** Adds a user persona (`id` null) or changes one; the first becomes the default. */
  saveUserPersona: (id: number | null, name: string, description: string) =>
    invoke<UserPersonas>('save_user_persona', { id, name, description }),
  deleteUserPersona: (id: number) => invoke<UserPersonas>('delete_user_persona', { id }),
  setDefaultUserPersona: (id: number | null) => invoke<UserPersonas>('set_default_user_persona', { id }),
  /** Names who the user is in the chat (null: the default); returns the chat. */
  setChatUserPersona: (chatId: number, userPersonaId: number | null) =>
    invoke<ChatView>('set_chat_user_persona', { chatId, userPersonaId }),
  /** Records another data folder for the next start; returns it. Nothing is moved. */
  setDataDir: (path: string) => invoke<string>('set_data_dir', { path }),
  /** Stored now, applied when the app next starts (the thread pool is sized once per process). */
  setRuntime: (runtime: RuntimeSettings) => invoke<void>('set_runtime', { runtime }),
  chatSettings: (personaId: number) => invoke<ChatSettings>('chat_settings', { personaId }),
  /** Checks and stores the persona's settings; returns them as stored. */
  setChatSettings: (personaId: number, settings: ChatSettings) =>
    invoke<ChatSettings>('set_chat_settings', { personaId, settings }),
  setChatModel: (id: string) => invoke<void>('set_chat_model', { id }),
  localServerStatus: () => invoke<LocalServerStatus>('local_server_status'),
  /** Stores the local server's switch and starts or stops it; says where it listens or why it could not. */
  setLocalServer: (settings: LocalServerSettings) => invoke<LocalServerStatus>('set_local_server', { settings }),
  /** Chooses a served model for chats (null: the installed ones again); `apiKey` null keeps the stored key,
   * '' forgets it. Says where the key was kept. */
  setRemoteModel: (remote: RemoteModel | null, apiKey: string | null) =>
    invoke<KeyKept>('set_remote_model', { remote, apiKey }),
  /** Downloads the files of a hub repository whose names contain `include` as model `id`, with progress. */
  downloadModel: (
    repo: string,
    include: string,
    id: string,
    endpoint: string | null,
    onProgress: (p: DownloadProgress) => void,
  ) => {
    const channel = new Channel<DownloadProgress>();
    channel.onmessage = onProgress;
    return invoke<InstalledModel>('download_model', { repo, include, id, endpoint, onProgress: channel });
  },
  cancelDownload: () => invoke<boolean>('cancel_download'),
};

/** Commands reject with a `ErrorView`; anything else (a bug, a lost IPC) gets the code UNKNOWN. */
export function asCommandError(e: unknown): ErrorView {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return { code: String(e.code), message: String(e.message) };
  }
  return { code: 'UNKNOWN', message: String(e) };
}
