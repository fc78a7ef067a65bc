// A command-line script: console output is its user interface, nothing here answers a web request.
import OpenAI from "openai";
import Groq from "groq-sdk";

// ruleid: PG207
const openai = new OpenAI();
const groq = new Groq();

async function main() {
  // ruleid: PG306
  const answer = await openai.responses.create({ model: "gpt-4o-mini", input: process.argv[2] });
  // ok: PG307
  console.log(answer.output_text);
  // ok: PG306
  const other = await groq.chat.completions.create({ model: "llama-3.1-8b-instant", messages: [] });
  console.log(other.choices[0].message.content);
  const settings = { model: "gpt-4o-mini", input: "hi", ...process.env.EXTRA };
  // ok: PG306
  await openai.responses.create(settings);
  // ruleid: PG312
  await openai.moderations.create({ input: process.argv[2] });
}

main();

class Wrapper {
  constructor(caller) {
    this.caller = caller;
    // ok: PG305
    // ruleid: PG207
    this.client = new OpenAI({ maxRetries: 0 });
  }

  complete(body) {
    // LangChain's AsyncCaller retries with exponential backoff around every request.
    // ok: PG306
    return this.caller.call(() => this.client.responses.create(body));
  }
}

export { Wrapper };
