// The desktop app's settings as the page sees them (kept by Rust in the config directory, never in
// the page's storage): what each means, the defaults, and how a theme applies. No DOM here.

export const THEMES = Object.freeze(['system', 'light', 'dark']);

export const DEFAULT_SETTINGS = Object.freeze({
  notifications: true, // new messages while the window is in the background (mentions always)
  sound: true, // notifications ask for the desktop's new-message sound
  keepInTray: true, // closing the window during a chat keeps Confab running in the tray
  theme: 'system', // follow the desktop's light/dark, or force one
});

/** `raw` as a complete settings object: unknown keys dropped, wrong types replaced by the defaults. */
export function normalizeSettings(raw) {
  const given = raw && typeof raw === 'object' ? raw : {};
  const out = { ...DEFAULT_SETTINGS };
  for (const key of ['notifications', 'sound', 'keepInTray']) if (typeof given[key] === 'boolean') out[key] = given[key];
  if (THEMES.includes(given.theme)) out.theme = given.theme;
  return out;
}

/** The page's theme attribute for a setting: 'light' or 'dark' forces one, null follows the system. */
export const themeAttribute = (theme) => (theme === 'light' || theme === 'dark' ? theme : null);
