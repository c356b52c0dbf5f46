// One GraphQL client for the whole page: queries over HTTP POST, subscriptions over one
// WebSocket (graphql-transport-ws, via graphql-ws) that reconnects with backoff.
import { signal } from "@preact/signals";
import { createClient } from "graphql-ws";

/** "connecting", "live" or "offline": shown by the indicator in the header. */
export const connection = signal("connecting");

// When the server is protected by tokens, the user's token is kept for the browser session
// (sessionStorage: gone when the browser closes) and sent with every request.
const TOKEN_KEY = "ose-mesh-token";
/** Set when the server refused us for want of a (valid) token: the shell then asks for one. */
export const needsToken = signal(false);

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token.trim());
  location.reload(); // one fresh start: every store and the socket with the new token
}

function authorization() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

const reconnectListeners = new Set();
let everConnected = false;

/** Run `listener` after every reconnect: deltas may have been missed, snapshots refetch. */
export function onReconnect(listener) {
  reconnectListeners.add(listener);
  return () => reconnectListeners.delete(listener);
}

const socket = createClient({
  url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
  lazy: false,
  keepAlive: 15_000,
  connectionParams: authorization,
  retryAttempts: Infinity,
  shouldRetry: () => true,
  // 0.5 s, 1 s, 2 s … capped at 15 s, with jitter so a restarted server is not stampeded.
  retryWait: (retries) =>
    new Promise((resolve) =>
      setTimeout(resolve, Math.min(15_000, 500 * 2 ** retries) * (0.5 + Math.random() / 2)),
    ),
  on: {
    connecting: () => (connection.value = everConnected ? "offline" : "connecting"),
    connected: () => {
      connection.value = "live";
      if (everConnected) reconnectListeners.forEach((listener) => listener());
      everConnected = true;
    },
    closed: (event) => {
      if (event?.code === 4403) needsToken.value = true; // the server wants a valid token
      connection.value = everConnected ? "offline" : "connecting";
    },
  },
});

export class GraphQLFailure extends Error {}

/** Run a query or mutation; throws GraphQLFailure with the server's messages. */
export async function request(document, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json", ...authorization() },
      body: JSON.stringify({ query: document, variables }),
    });
  } catch {
    throw new GraphQLFailure("The server cannot be reached.");
  }
  if (response.status === 401) {
    needsToken.value = true;
    throw new GraphQLFailure("The server needs a token.");
  }
  const body = await response.json().catch(() => ({}));
  if (body.errors?.length) {
    throw new GraphQLFailure(body.errors.map((error) => error.message).join("; "));
  }
  if (!response.ok) throw new GraphQLFailure(`The server answered ${response.status}.`);
  return body.data;
}

/** Subscribe; `onData` gets each result's data. Returns the function that unsubscribes. */
export function subscribe(document, variables, onData) {
  return socket.subscribe(
    { query: document, variables },
    {
      next: (result) => result.data && onData(result.data),
      error: (error) => console.warn("subscription ended", error),
      complete: () => {},
    },
  );
}
