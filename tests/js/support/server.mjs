// Starts a chat server process for one test and stops it afterwards: the real `confab-server` binary,
// or the stand-in for the seed's reference server (tests/seed-server/server.mjs).
//
// The binary: $CONFAB_SERVER_BIN if set, else ${CARGO_TARGET_DIR:-<repo>/target}/debug/confab-server.
// Build it first with `cargo build -p confab-server`.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SEED_SERVER_SCRIPT = path.join(REPO_ROOT, "tests/seed-server/server.mjs");

/** How long a server may take to print its address. */
const START_TIMEOUT_MS = 10_000;
/** How long a server may take to exit after SIGTERM before it is killed. */
const STOP_TIMEOUT_MS = 5_000;

export function serverBinary() {
  if (process.env.CONFAB_SERVER_BIN) return process.env.CONFAB_SERVER_BIN;
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR)
    : path.join(REPO_ROOT, "target");
  return path.join(targetDir, "debug", "confab-server");
}

/**
 * Starts the server on 127.0.0.1 with a free port and the given extra command-line flags.
 * Resolves to `{ url, port, child, output(), stop() }` once it printed
 * `Confab server running on <addr>:<port>`.
 * `env` is merged over a copy of process.env in which CONFAB_* variables are removed, so the
 * test machine's environment cannot change the server's settings.
 */
export async function startServer(flags = [], { env = {} } = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(
      `confab-server binary not found at ${bin}. Build it with ` +
        "`cargo build -p confab-server` (in the repo root) or set CONFAB_SERVER_BIN.",
    );
  }
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith("CONFAB_")),
  );
  return startProcess(bin, ["--bind", "127.0.0.1", "--port", "0", "--ephemeral", ...flags], {
    env: { RUST_LOG: "warn", ...cleanEnv, ...env },
    listening: /Confab server running on (\S+):(\d+)/,
  });
}

/** Starts the seed reference server stand-in on a free port; same result as `startServer`. */
export function startSeedServer() {
  return startProcess(process.execPath, [SEED_SERVER_SCRIPT, "0"], { env: process.env, listening: /listening ()(\d+)/ });
}

/** Spawns `command` and resolves once its stdout matches `listening` (the port is its 2nd group). */
async function startProcess(command, args, { env, listening }) {
  const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const label = path.basename(args[0]?.endsWith(".mjs") ? args[0] : command);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));

  const port = await new Promise((resolve, reject) => {
    const describe = () => `command: ${command} ${args.join(" ")}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${label} did not print its address within ${START_TIMEOUT_MS} ms\n${describe()}`));
    }, START_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`could not start ${label}: ${error.message}\n${describe()}`));
    });
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = listening.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[2]));
      }
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited early (code ${code}, signal ${signal})\n${describe()}`));
    });
  });

  let stopping;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => ({ stdout, stderr }),
    /** SIGTERM, then SIGKILL if it has not exited after a few seconds. Resolves to the exit status. */
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return exited;
        child.kill("SIGTERM");
        let timer;
        const timedOut = new Promise((resolve) => {
          timer = setTimeout(() => resolve("timeout"), STOP_TIMEOUT_MS);
        });
        const result = await Promise.race([exited, timedOut]);
        clearTimeout(timer);
        if (result === "timeout") {
          child.kill("SIGKILL");
          await exited;
          throw new Error(`${label} did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM`);
        }
        return result;
      })();
      return stopping;
    },
  };
}
