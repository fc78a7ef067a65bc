// Next.js pages router API route: the default export is the handler.
import OpenAI from "openai";

// ruleid: PG314
// ruleid: PG207
const openai = new OpenAI();

export default async function handler(req, res) {
  // ruleid: PG308, PG309, PG313
  const stream = await openai.chat.completions.create({
    model: "gpt-4o-mini",
    max_tokens: 500,
    stream: true,
    messages: [
      // ruleid: PG311
      { role: "system", content: "You write product copy for " + req.body.brand },
      { role: "user", content: req.body.prompt },
    ],
  });
  for await (const chunk of stream) {
    res.write(chunk.choices[0]?.delta?.content || "");
  }
  res.end();
}
