"use server";
// Server actions run on the server for each visitor: exported functions are request handlers.
import OpenAI from "openai";
import { zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";

// ruleid: PG314
// ruleid: PG207
const client = new OpenAI();
const Summary = z.object({ title: z.string(), bullets: z.array(z.string()) });

export async function summarize(text: string) {
  const verdict = await client.moderations.create({ model: "omni-moderation-latest", input: text });
  if (verdict.results[0].flagged) {
    return { error: "rejected" };
  }
  // ruleid: PG313, PG315
  const completion = await client.chat.completions.parse({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: text }],
    response_format: zodResponseFormat(Summary, "summary"),
    max_completion_tokens: 300,
    safety_identifier: "anonymous",
  });
  return completion.choices[0].message.parsed;
}
