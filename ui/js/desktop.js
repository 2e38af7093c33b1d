// Pure rules of the desktop conventions, no DOM: when a message mentions you, what the tray menu says
// about the connection. (Links, tray, notifications themselves live in Rust, src-tauri/src/.)

const WORD = /[\p{L}\p{N}_]/u;

/**
 * Whether `text` mentions `name`: the name as a whole word (not inside a longer one), in any case,
 * with or without an @ before it.
 */
export function mentions(text, name) {
  const wanted = String(name ?? '').trim().toLocaleLowerCase();
  if (!wanted) return false;
  const haystack = String(text ?? '').toLocaleLowerCase();
  for (let at = haystack.indexOf(wanted); at !== -1; at = haystack.indexOf(wanted, at + 1)) {
    const before = haystack.slice(0, at).at(-1) ?? ' ';
    const after = haystack.slice(at + wanted.length)[0] ?? ' ';
    const edge = (c, side) => !WORD.test(c) || !WORD.test(side);
    if (edge(before, wanted[0]) && edge(after, wanted.at(-1))) return true;
  }
  return false;
}

const TRAY_STATES = {
  connected: (where) => `Connected to ${where}`,
  reconnecting: (where) => `Reconnecting to ${where}…`,
  offline: (where) => `Offline: ${where}`,
  nameTaken: (where) => `Name taken on ${where}`,
};

/** The tray menu's connection line: `state` of the connection to `where` (null: not in a chat). */
export function trayStatus(state, where) {
  if (!where) return 'Not connected';
  return (TRAY_STATES[state] ?? TRAY_STATES.connected)(where);
}
