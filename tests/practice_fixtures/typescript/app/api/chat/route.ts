// Next.js App Router route handler with the Vercel AI SDK.
import { openai } from "@ai-sdk/openai";
import { anthropic } from "@ai-sdk/anthropic";
import { generateText, streamText } from "ai";
import { NextRequest, NextResponse } from "next/server";

export async function POST(req: NextRequest) {
  const { messages, topic } = await req.json();
  try {
    // ruleid: PG306, PG308
    const result = streamText({
      model: openai("gpt-4o-mini"),
      // ruleid: PG311
      system: `You are an assistant specialised in ${topic}.`,
      messages,
      providerOptions: { openai: { user: "anonymous" } },
    });
    return result.toDataStreamResponse();
  } catch (error) {
    return NextResponse.json({ error: "unavailable" }, { status: 502 });
  }
}

export async function GET(req: NextRequest) {
  const q = req.nextUrl.searchParams.get("q") ?? "";
  try {
    // ruleid: PG308, PG309
    const { text } = await generateText({ model: openai.responses("gpt-4o-mini"), prompt: q, maxOutputTokens: 200 });
    // ok: PG306, PG308, PG309
    const other = await generateText({ model: anthropic("claude-3-5-haiku-latest"), prompt: q });
    return NextResponse.json({ text, other: other.text });
  } catch (error) {
    return NextResponse.json({ error: "unavailable" }, { status: 502 });
  }
}
