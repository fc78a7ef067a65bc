// Hono: handlers take a Context; errors go to app.onError.
import { Hono } from "hono";
import { AzureOpenAI } from "openai";
import { ChatOpenAI } from "@langchain/openai";

const app = new Hono();
// ok: PG314
const client = new AzureOpenAI({ apiVersion: "2024-10-21", timeout: 15_000 });
// ruleid: PG306, PG314
const llm = new ChatOpenAI({ model: "gpt-4o-mini" });
// ruleid: PG302
const billed = new AzureOpenAI({ organization: "org-plikshvA52cCktzf7XCTrk0F", timeout: 1000 });

app.post("/ask", async (c) => {
  const body = await c.req.json();
  // ruleid: PG308
  const answer = await client.responses.create({
    model: "gpt-4o-mini",
    input: body.question,
    max_output_tokens: 256,
    safety_identifier: body.userHash,
  });
  return c.json({ answer: answer.output_text });
});

app.onError((err, c) => c.json({ error: "unavailable" }, 502));

export { app, llm, billed };
