// Help-centre chat widget: answers questions without a round trip to our API.
import OpenAI from "openai";

const openai = new OpenAI({
  apiKey: import.meta.env.VITE_OPENAI_API_KEY,
  dangerouslyAllowBrowser: true,
});

export async function ask(question) {
  const response = await openai.responses.create({
    model: "gpt-4o-mini",
    input: question,
    max_output_tokens: 300,
  });
  return response.output_text;
}
