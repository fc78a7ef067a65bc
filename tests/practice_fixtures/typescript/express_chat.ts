import express, { Request, Response } from "express";
import OpenAI from "openai";

const app = express();
// ruleid: PG314
// ruleid: PG207
const client = new OpenAI({ apiKey: process.env.OPENAI_API_KEY });

app.post("/chat", async (req: Request, res: Response) => {
  try {
    // ruleid: PG306, PG308, PG309
    const completion = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: req.body.message }],
    });
    res.json({ reply: completion.choices[0].message.content });
  } catch (err) {
    res.status(502).json({ error: "upstream" });
  }
});

app.post("/ask", async (req: Request, res: Response) => {
  const { question } = req.body;
  const moderation = await client.moderations.create({ model: "omni-moderation-latest", input: question });
  if (moderation.results[0].flagged) {
    return res.status(400).json({ error: "rejected" });
  }
  // ruleid: PG313
  const answer = await client.responses.create({
    model: "gpt-4o-mini",
    // ruleid: PG311
    instructions: `You answer questions about ${question}`,
    input: question,
    max_output_tokens: 300,
    safety_identifier: req.body.userHash,
  });
  res.json({ answer: answer.output_text });
});

function summarize(text: string) {
  // ok: PG308
  return client.responses.create({ model: "gpt-4o-mini", input: text, max_output_tokens: 200 });
}
