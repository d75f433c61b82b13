// Typed wrappers over the Tauri commands of src-tauri/src/commands.rs.
import { invoke } from '@tauri-apps/api/core';
import type { AppStatus, ChatView, CommandError, Message, PersonaSummary } from './types';

export const api = {
  appStatus: () => invoke<AppStatus>('app_status'),
  listPersonas: () => invoke<PersonaSummary[]>('list_personas'),
  openChat: (personaId: number) => invoke<ChatView>('open_chat', { personaId }),
  newChat: (personaId: number) => invoke<ChatView>('new_chat', { personaId }),
  sendMessage: (chatId: number, text: string) => invoke<Message[]>('send_message', { chatId, text }),
};

/** Commands reject with a `CommandError`; anything else (a bug, a lost IPC) gets the code UNKNOWN. */
export function asCommandError(e: unknown): CommandError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return { code: String(e.code), message: String(e.message) };
  }
  return { code: 'UNKNOWN', message: String(e) };
}
