// Drives @langchain/react's useStream (the thread-stream protocol) headless in Node:
// submits one message to the "agent" graph, records the last message's text at every
// render, counts the text deltas its own event streams delivered (a fetch that tees their
// bodies), and prints the outcome as JSON.
// Usage: node use_stream.mjs <apiUrl>
import React from "react";
import TestRenderer, { act } from "react-test-renderer";
import { useStream } from "@langchain/react";

globalThis.IS_REACT_ACT_ENVIRONMENT = true;
const [apiUrl] = process.argv.slice(2);

let textDeltas = 0;
const streamUrls = [];
async function teeFetch(input, init) {
  const response = await fetch(input, init);
  const url = typeof input === "string" ? input : input.url;
  if (url.endsWith("/stream/events") && response.body) {
    streamUrls.push(new URL(url).pathname);
    const reader = response.clone().body.pipeThrough(new TextDecoderStream()).getReader();
    (async () => {
      for (let buffer = ""; ; ) {
        const { value, done } = await reader.read().catch(() => ({ done: true }));
        if (done) return;
        buffer += value;
        const frames = buffer.split(/\r?\n\r?\n/);
        buffer = frames.pop();
        textDeltas += frames.filter((f) => f.includes('"type":"text-delta"')).length;
      }
    })();
  }
  return response;
}

let stream;
const partials = [];
function App() {
  stream = useStream({ apiUrl, assistantId: "agent", fetch: teeFetch });
  const last = stream.messages.at(-1);
  const text = last && last.getType && last.getType() === "ai" ? last.text : null;
  if (text && partials.at(-1) !== text) partials.push(text);
  return null;
}

const deadline = Date.now() + 60_000;
await act(async () => {
  TestRenderer.create(React.createElement(App));
});
await act(async () => {
  await stream.submit(
    { messages: [{ type: "human", content: "weather in sf?" }] },
    { config: { configurable: { delay: 0.05 } } },
  );
});
while ((stream.isLoading || stream.messages.length < 4) && !stream.error && Date.now() < deadline) {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
}
const result = {
  threadId: stream.threadId,
  isLoading: stream.isLoading,
  error: stream.error ? String(stream.error) : null,
  messages: stream.messages.map((m) => ({ type: m.getType(), text: m.text })),
  partials,
  textDeltas,
  streamUrls: [...new Set(streamUrls)],
};
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
