// A chat UI where each visitor stores their own API key in their profile (or sends it in a header):
// their usage and abuse are billed to their own organization, so moderation and end-user ids are theirs.
import OpenAI from "openai";
import { getServerProfile } from "@/lib/server/profile";
import { db } from "@/lib/db";

export async function POST(request: Request) {
  const { messages, customModelId } = await request.json();
  const profile = await getServerProfile();
  const KEY = profile.openai_api_key;
  // ok: PG207
  // ruleid: PG314
  const openai = new OpenAI({ apiKey: KEY || "", organization: profile.openai_organization_id });
  // ok: PG308, PG309, PG313
  const reply = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, max_tokens: 500 });
  const { data: customModel } = await db.from("models").select("*").eq("id", customModelId).single();
  // ok: PG207
  // ruleid: PG314
  const custom = new OpenAI({ apiKey: customModel.api_key, baseURL: customModel.base_url });
  // ok: PG308, PG309
  // ruleid: PG306
  const other = await custom.chat.completions.create({ model: customModel.model, messages });
  return Response.json({ reply, other });
}

export async function PUT(request: Request) {
  // ok: PG207
  // ruleid: PG314
  const openai = new OpenAI({ apiKey: request.headers.get("x-openai-key") ?? "" });
  // ok: PG308, PG309, PG313
  return Response.json(await openai.responses.create({ model: "gpt-4o-mini", input: "hi", max_output_tokens: 50 }));
}
