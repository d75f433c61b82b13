// The types the Tauri commands exchange are generated from the Rust types into bindings.ts (a Rust
// test fails when it is stale); this file adds the UI's own.
export type * from './bindings';

export type CardFormat = 'png' | 'json' | 'charx';

/** A reply being written: its text so far. */
export interface StreamingReply {
  chatId: number;
  text: string;
  pieces: number;
  /** The position of the reply it will become an alternative of (hidden while it is written); null for a new reply. */
  replacesSeq: number | null;
  /** Set while the guard writes another attempt after catching one. */
  retry: { attempt: number; of: number; cause: string } | null;
  /** The caught attempt's text, shown dimmed while the next one is written out of sight (the kept reply
   * replaces it once, at the end, rather than a second text streaming in and maybe being swapped back). */
  held?: string;
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
