// Browser chat widget. Calling OpenAI straight from the browser ships the key to every visitor.
import OpenAI from "openai";

const DEMO_SESSION_ID = "23fa4737-913f-45bd-98c5-9d2be4e5972a";

const client = new OpenAI({
  apiKey: "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",
  dangerouslyAllowBrowser: true,
});

export async function ask(question) {
  const response = await client.chat.completions.create({
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: question }],
    user: DEMO_SESSION_ID,
  });
  return response.choices[0].message.content;
}
