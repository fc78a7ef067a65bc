// Chat widget that calls OpenAI straight from the page: the key ships to every visitor.
import OpenAI from "openai";

const openai = new OpenAI({
  apiKey: import.meta.env.VITE_OPENAI_API_KEY,
  dangerouslyAllowBrowser: true,
});

export async function ask(question) {
  const response = await openai.responses.create({ model: "gpt-4o-mini", input: question, max_output_tokens: 300 });
  return response.output_text;
}
