// What a typed server address says about who can read the traffic. No DOM, no network.

import { DEFAULT_PORT } from './protocol.js';

// 127.0.0.0/8, and the same as an IPv4-mapped IPv6 address (the URL parser writes ::ffff:7fxx:xxxx).
const LOOPBACK_V4 = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const LOOPBACK_MAPPED = /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/;

/** Whether `hostname` (as URL.hostname gives it) is this computer: nothing leaves it. */
export function isLoopback(hostname) {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || LOOPBACK_V4.test(host) || host === '[::1]' || LOOPBACK_MAPPED.test(host);
}

/**
 * For an address as typed (`host:port`, `http://…`, `https://…`, `ws://…`): when the chat would go
 * over plain http (no TLS) to another computer, the server as one key (`http://host:port/`, spelled
 * the way the app normalises it); null for https/wss, for this computer, and for what is no address.
 */
export function plainHttpRemote(typed) {
  const trimmed = String(typed ?? '').trim();
  const hasScheme = trimmed.includes('://');
  let url;
  try {
    url = new URL(hasScheme ? trimmed : `http://${trimmed}`);
  } catch {
    return null; // the app says why it is no address
  }
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') return null;
  if (!url.hostname || isLoopback(url.hostname)) return null;
  const port = url.port || (hasScheme ? '80' : String(DEFAULT_PORT));
  return `http://${url.hostname}:${port}/`;
}
