// Persona images, fetched once as PNG bytes and shown through object URLs; a new image for a persona
// (set in the editor) replaces its URL.
import { api } from './api';

const urls = new Map<number, Promise<string | null>>();

/** The object URL of the persona's image, or null when it has none. */
export function avatarUrl(personaId: number): Promise<string | null> {
  let url = urls.get(personaId);
  if (!url) {
    url = api.personaAvatar(personaId).then(
      (bytes) => (bytes.byteLength ? URL.createObjectURL(new Blob([bytes], { type: 'image/png' })) : null),
      () => null,
    );
    urls.set(personaId, url);
  }
  return url;
}

/** Forgets the persona's image so that the next `avatarUrl` fetches the new one. */
export function forgetAvatar(personaId: number) {
  const old = urls.get(personaId);
  urls.delete(personaId);
  old?.then((u) => u && URL.revokeObjectURL(u));
}
