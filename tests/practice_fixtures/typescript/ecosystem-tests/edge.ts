// A suite that runs the SDK in an edge runtime: test code by its folder (`*-tests/`), so the rules that
// skip test code stay silent.
import OpenAI from "openai";

// ok: PG207, PG314
const client = new OpenAI();

export async function POST(request: Request) {
  const { prompt } = await request.json();
  // ok: PG306, PG308, PG309, PG313
  const completion = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }] });
  return Response.json(completion);
}
