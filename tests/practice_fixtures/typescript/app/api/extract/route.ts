// Structured extraction streamed back to the caller: errors handled by the caller's try, by the stream's
// "error" event, or not at all.
import OpenAI from "openai";

// ruleid: PG207
const openai = new OpenAI({ timeout: 30_000 });

function extract(text: string): ReadableStream {
  // ok: PG313
  // ruleid: PG308, PG309
  const stream = openai.chat.completions.stream({
    model: "gpt-4o-mini",
    max_tokens: 800,
    messages: [{ role: "user", content: text }],
  });
  return new ReadableStream({
    start(controller) {
      stream
        .on("content.delta", ({ delta }) => controller.enqueue(new TextEncoder().encode(delta)))
        .on("content.done", () => controller.close())
        .on("error", (error) => controller.error(error));
    },
  });
}

async function summarize(text: string) {
  // ok: PG313
  // ruleid: PG308, PG309
  return openai.responses.create({ model: "gpt-4o-mini", input: text, max_output_tokens: 200 });
}

async function title(text: string) {
  // ruleid: PG308, PG309, PG313
  return openai.responses.create({ model: "gpt-4o-mini", input: text, max_output_tokens: 20 });
}

export async function POST(req: Request) {
  const { text } = await req.json();
  try {
    const summary = await summarize(text);
    return new Response(extract(summary.output_text));
  } catch {
    return Response.json({ error: "failed" }, { status: 502 });
  }
}

export async function PUT(req: Request) {
  const { text } = await req.json();
  return Response.json({ title: (await title(text)).output_text });
}
