// Pure presentation helpers (unit-tested in format.test.ts).
import type {
  AdapterChoice,
  ChatSummary,
  DistillStatus,
  DownloadProgress,
  GuardReport,
  ImportPhase,
  MessageView,
  MessageSource,
  ModelMemory,
  OocFlag,
  UpgradeProgress,
  ReplierStatus,
  StylePlan,
  MessageStyle,
} from './types';
import { formatValue } from './charts';

/** A label for replies that were not written by a model, so the UI never pretends they were. */
export function sourceLabel(source: MessageSource, personaName: string): string | null {
  switch (source) {
    case 'greeting':
      return `${personaName}'s greeting from the card`;
    case 'script':
      return `line from ${personaName}'s script`;
    default:
      return null;
  }
}

/** A stable hue per persona for its avatar. */
export function avatarHue(slug: string): number {
  let h = 2166136261;
  for (const ch of slug) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0) % 360;
}

/** A run of a message's text: speech, an *action* or a (stage direction), **bold**, or `code`. */
export interface Segment {
  text: string;
  kind: 'speech' | 'action' | 'bold' | 'code';
}

// `code`, **bold**, *action*, and a (stage direction) that opens a line, as role-play cards write them.
const MARKUP = /`([^`\n]+)`|\*\*([^*\n]+)\*\*|\*([^*\n]+)\*|^\(([^()\n]+)\)/gm;

/** Splits a message into styled runs; the text is never interpreted as HTML. */
export function splitMarkup(text: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(MARKUP)) {
    if (m.index > last) segments.push({ text: text.slice(last, m.index), kind: 'speech' });
    if (m[1] !== undefined) segments.push({ text: m[1], kind: 'code' });
    else if (m[2] !== undefined) segments.push({ text: m[2], kind: 'bold' });
    else segments.push({ text: m[3] ?? `(${m[4]})`, kind: 'action' });
    last = m.index + m[0].length;
  }
  if (last < text.length) segments.push({ text: text.slice(last), kind: 'speech' });
  return segments;
}

/** Enter sends; Shift+Enter (and IME composition) inserts a newline. */
export function isSendKey(e: Pick<KeyboardEvent, 'key' | 'shiftKey' | 'isComposing'>): boolean {
  return e.key === 'Enter' && !e.shiftKey && !e.isComposing;
}

/** "smollm2-135m-instruct · CPU · 2 threads (avx2+fma)", or "qwen3:8b · served at 127.0.0.1:11434": where
 * replies are computed. */
export function replierLabel(status: ReplierStatus | null | undefined, writing = false): string | null {
  if (!status?.model) return null;
  if (status.server) return `${status.model} · served at ${status.server.replace(/^https?:\/\//, '').replace(/\/v1\/?$/, '')}`;
  // A reply streaming in shows the model is loaded, though the status says so only once it is stored.
  if (!status.device) return writing ? status.model : `${status.model} · loading…`;
  const { kind, threads, simd } = status.device;
  const where = kind === 'cpu' ? `CPU · ${threads} thread${threads === 1 ? '' : 's'} (${simd})` : kind.toUpperCase();
  return `${status.model} · ${where}`;
}

/** "Screenplay, UTF-8 · 12.4 kB": what the wizard detected. */
export function describeFile(format: string, encoding: string, size: number): string {
  const kb = size < 1024 * 1024 ? `${(size / 1024).toFixed(1)} kB` : `${(size / 1024 / 1024).toFixed(1)} MB`;
  return `${format.charAt(0).toUpperCase()}${format.slice(1)}, ${encoding} · ${kb}`;
}

/** "OBI-WAN KENOBI" -> "Obi-Wan Kenobi": the persona name the wizard suggests for a speaker. */
export function displayName(speaker: string): string {
  return speaker.toLowerCase().replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());
}

/** The wizard's progress line for an import phase. */
export function phaseLabel(p: ImportPhase): string {
  switch (p.phase) {
    case 'reading':
      return 'Reading the file…';
    case 'analyzing':
      return `Analyzing ${p.lines} lines of ${displayName(p.speaker)}: signatures, grammar, traits…`;
    case 'storing':
      return 'Saving the persona…';
  }
}

/** SVG polyline points for a loss curve in a `width` x `height` box (higher loss = higher up). */
export function lossPoints(losses: number[], width: number, height: number): string {
  const finite = losses.filter(Number.isFinite);
  if (finite.length === 0) return '';
  const max = Math.max(...finite);
  const min = Math.min(...finite);
  const span = max - min || 1;
  const step = losses.length > 1 ? width / (losses.length - 1) : 0;
  return losses
    .map((l, i) => (Number.isFinite(l) ? `${(i * step).toFixed(1)},${(height - ((l - min) / span) * height).toFixed(1)}` : null))
    .filter((p) => p !== null)
    .join(' ');
}

/** "training · step 2/3 · loss 3.644 · 17 tok/s · ETA 35 s": a running distillation in one line. */
export function jobLabel(job: DistillStatus): string {
  const parts = [job.phase];
  if (job.total) parts.push(job.phase === 'training' ? `step ${job.done}/${job.total}` : `${job.done}/${job.total}`);
  if (job.loss !== null) parts.push(`loss ${job.loss.toFixed(3)}`);
  if (job.tokensPerSecond) parts.push(`${job.tokensPerSecond.toFixed(0)} tok/s`);
  if (job.etaSeconds !== null) parts.push(`ETA ${Math.round(job.etaSeconds)} s`);
  return parts.join(' · ');
}

/** The style meter of a reply: percent in character, the three dimensions and any out-of-character flags. */
export interface StyleMeterReading {
  percent: number;
  /** "lexical 50% · pragmatic 91%": the dimensions that were scored. */
  detail: string;
  flags: OocFlag[];
}

export function styleMeter(style: MessageStyle): StyleMeterReading | null {
  if (style.overall === null) return null;
  const dim = (name: string, v: number | null) => (v === null ? null : `${name} ${Math.round(v * 100)}%`);
  const detail = [dim('lexical', style.lexical), dim('syntactic', style.syntactic), dim('pragmatic', style.pragmatic)]
    .filter((d) => d !== null)
    .join(' · ');
  const flags = style.oocFlags ?? [];
  return { percent: Math.round(style.overall * 100), detail, flags };
}

export interface StyleTrend {
  /** Mean style score (0..1) of the replies counted. */
  average: number;
  /** Mean of the newer half minus mean of the older half, in score units: negative when replies leave character. */
  drift: number;
  /** How many replies were counted. */
  count: number;
}

/** The running style of the last `n` scored replies: their average and its drift; null under two such replies. */
export function styleTrend(messages: Pick<MessageView, 'role' | 'style'>[], n = 10): StyleTrend | null {
  const scores = messages
    .filter((m) => m.role === 'assistant')
    .map((m) => m.style.overall)
    .filter((s) => s !== null)
    .slice(-n);
  if (scores.length < 2) return null;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  // With an odd count the middle reply belongs to neither half, so that both halves weigh the same.
  const half = Math.floor(scores.length / 2);
  return { average: mean(scores), drift: mean(scores.slice(-half)) - mean(scores.slice(0, half)), count: scores.length };
}

/** A drift this far down (in percent points) is shown as a warning: the character is slipping. */
export const DRIFT_WARNING_PTS = -10;

/** The chat header's trend line: "in character 72% · drift −5 pts over 10 replies", in whole percent points. */
export function describeTrend(t: StyleTrend): { average: number; drift: number; text: string; title: string; warning: boolean } {
  const average = Math.round(t.average * 100);
  const drift = Math.round(t.drift * 100);
  return {
    average,
    drift,
    text: `in character ${average}% · drift ${formatValue(drift, 0, true)} pts over ${t.count} replies`,
    title:
      `Average style score of the last ${t.count} scored replies. Drift: the newer half's average minus the older ` +
      `half's, in percent points; at ${formatValue(DRIFT_WARNING_PTS, 0)} or below the character is slipping.`,
    warning: drift <= DRIFT_WARNING_PTS,
  };
}

/** An adapter choice as a <select> value ('newest', 'none', 'adapter:ID') and back. */
export function adapterChoiceValue(choice: AdapterChoice): string {
  return choice.kind === 'adapter' ? `adapter:${choice.id}` : choice.kind;
}

export function parseAdapterChoice(value: string): AdapterChoice {
  if (value === 'none') return { kind: 'none' };
  const id = /^adapter:(\d+)$/.exec(value);
  return id ? { kind: 'adapter', id: Number(id[1]) } : { kind: 'newest' };
}

/** A profile change as text: "new 3.21", "gone (was 2.10)" or "2.10 → 3.21". */
export function changeLabel(before: number | null, after: number | null, digits = 2): string {
  if (before === null && after !== null) return `new ${after.toFixed(digits)}`;
  if (after === null && before !== null) return `gone (was ${before.toFixed(digits)})`;
  if (before !== null && after !== null) return `${before.toFixed(digits)} → ${after.toFixed(digits)}`;
  return '–';
}

type Position = Pick<MessageView, 'seq' | 'role' | 'altIndex' | 'altCount'>;

/** Puts a stored message at its position (replacing the alternative shown there), or after the others. */
export function placeMessage<M extends Pick<MessageView, 'seq'>>(messages: M[], message: M): M[] {
  const at = messages.findIndex((m) => m.seq === message.seq);
  if (at === -1) return [...messages, message].sort((a, b) => a.seq - b.seq);
  return messages.map((m, i) => (i === at ? message : m));
}

/**
 * What regenerating can do at message `i`: write another alternative of the last reply (after a message of the
 * user), write the missing reply to a last message of the user, or nothing.
 */
export function regenerateKind(messages: Pick<MessageView, 'role'>[], i: number): 'alternative' | 'reply' | null {
  if (i !== messages.length - 1) return null;
  const role = messages[i].role;
  if (role === 'user') return 'reply';
  if (role === 'assistant' && messages[i - 1]?.role === 'user') return 'alternative';
  return null;
}

/** "2/3": which swipe is shown; null when there is nothing to swipe to. */
export function swipeCounter(m: Position, canGenerate: boolean): string | null {
  if (m.altCount <= 1 && !canGenerate) return null;
  return `${m.altIndex + 1}/${m.altCount}`;
}

/** What a swipe arrow does: show another stored alternative, or (right of the last reply's last) write a new one. */
export type SwipeStep = { kind: 'choose'; index: number } | { kind: 'generate' } | null;

export function swipeStep(m: Position, direction: -1 | 1, canGenerate: boolean): SwipeStep {
  const index = m.altIndex + direction;
  if (index >= 0 && index < m.altCount) return { kind: 'choose', index };
  if (direction === 1 && canGenerate) return { kind: 'generate' };
  return null;
}

/** The delete confirmation, saying exactly what goes and what stays. */
export function deleteNotice(m: Pick<MessageView, 'altCount'>, later: number): string {
  const others = m.altCount - 1;
  const what =
    others > 0 ? `Delete this message and its ${others} other alternative${others === 1 ? '' : 's'}?` : 'Delete this message only?';
  const rest =
    later === 0 ? 'Nothing comes after it.' : `The ${later === 1 ? 'message' : `${later} messages`} after it stay${later === 1 ? 's' : ''}.`;
  return `${what} ${rest}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Branch of Chat with Tsubaki · Mar 3, 14:05": a chat in the chat list (titles repeat; the time tells them apart). */
export function chatLabel(chat: Pick<ChatSummary, 'title' | 'createdAt'>): string {
  const d = new Date(chat.createdAt);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  return `${chat.title} · ${MONTHS[d.getMonth()]} ${d.getDate()}, ${hm}`;
}

/** What the out-of-character guard did to a reply, in a few words, and each caught attempt's cause. */
export function guardLabel(g: GuardReport): { text: string; detail: string } {
  const how = g.action === 'rewrite' ? 'rewritten in character' : 'written again';
  const text =
    g.caught.length >= g.attempts
      ? `out of character in all ${g.attempts} attempts · kept the best`
      : `caught out of character · ${how} (attempt ${g.kept} of ${g.attempts} kept)`;
  return { text, detail: g.caught.map((c) => `caught because ${c}`).join('\n') };
}

/** "model.gguf · 12.5 of 100.0 MB (12%)": a download's progress; without a known size, the bytes so far. */
export function downloadLabel(p: DownloadProgress): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  if (!p.totalBytes) return `${p.file} · ${mb(p.downloadedBytes)} MB`;
  const percent = Math.floor((100 * p.downloadedBytes) / p.totalBytes);
  return `${p.file} · ${mb(p.downloadedBytes)} of ${mb(p.totalBytes)} MB (${percent}%)`;
}

/** " (this machine has 16.0 GB)" or " (the NVIDIA … GPU has 8.6 GB)": the memory the fit verdicts read; empty when unknown. */
export function memoryNote(memory: ModelMemory): string {
  if (!memory.bytes) return memory.gpu ? ` (the memory of the ${memory.gpu} could not be read)` : '';
  const gb = `${(memory.bytes / 1e9).toFixed(1)} GB`;
  return memory.gpu ? ` (models run on the ${memory.gpu}, which has ${gb})` : ` (this machine has ${gb})`;
}

/** The style meter's explanation lines: signature terms used, patterns fired, traits shown. */
export function planLines(plan: StylePlan | null): string[] {
  if (!plan) return [];
  const lines = [];
  if (plan.signatures.length) lines.push(`uses: ${plan.signatures.map((s) => `“${s}”`).join(', ')}`);
  if (plan.rules.length) lines.push(`patterns: ${plan.rules.map((r) => r.gloss ?? r.rule).join(', ')}`);
  for (const t of plan.traits) lines.push(`shows: ${t.gloss || t.name.replace(/_rate$/, '').replaceAll('_', ' ')} (“${t.evidence}”)`);
  return lines.length ? lines : ["shows none of the character's signatures, patterns or traits"];
}

/** The sidebar's line while style profiles are updated after an analyzer change; null once done (or never needed). */
export function profileUpdateLine(update: UpgradeProgress | null | undefined): string | null {
  if (!update || update.done >= update.total) return null;
  return `Updating style profiles ${update.done}/${update.total}`;
}

/** The non-empty parts of `text` split at `separator`, trimmed: a list edited as one text field. */
export function linesOf(text: string, separator: RegExp): string[] {
  return text
    .split(separator)
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/** A style flag in a few plain words, for the meter (its cause, in full, is in the meter's tooltip). */
export function flagLabel(kind: string): string {
  const labels: Record<string, string> = {
    assistant_speak: 'talks like an assistant',
    language_mismatch: 'another language',
    missing_trait: 'a habit missing',
    foreign_trait: 'a habit they avoid',
    catchphrase_overuse: 'a catchphrase overused',
    low_style: 'unlike them',
  };
  return labels[kind] ?? kind.replaceAll('_', ' ');
}
