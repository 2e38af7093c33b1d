// Certificate fingerprints as people compare them. No DOM, no network.

/**
 * A SHA-256 fingerprint (`AB:CD:…`, as the server and browsers write it) in groups of four hex
 * digits, to read aloud or compare by eye: ['ABCD', 'EF01', …] (16 groups), shown in two lines of 8.
 * The same on every screen that shows one (the host's bar, the trust question, the refusal), so the
 * two sides look alike.
 */
export function fingerprintGroups(fingerprint) {
  const hex = String(fingerprint ?? '').replace(/[^0-9a-f]/gi, '').toUpperCase();
  return hex.match(/.{1,4}/g) ?? [];
}
