// Express with CommonJS require: aliased client class, literal keys, retries off, logging, hand-written
// REST calls, a script-style helper no route reaches.
const express = require("express");
const { OpenAI: Client } = require("openai");
const axios = require("axios");

const app = express();
app.use(express.json());

// ruleid: PG301
const GATEWAY_KEY = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue";
// ruleid: PG305, PG314
// ruleid: PG207
const client = new Client({ apiKey: GATEWAY_KEY, maxRetries: 0 });
// ruleid: PG301
// ruleid: PG207
const backup = new Client({ apiKey: process.env.BACKUP_KEY ?? "Hk29sLqP0xVbN7cR4tYw8uJm3ZaE6gDf", timeout: 20000 });
// ok: PG301, PG303
const local = new Client({ apiKey: "ollama", baseURL: "http://localhost:11434/v1", timeout: 5000 });
// ruleid: PG303
const proxied = new Client({ baseURL: "http://llm-proxy.acme-corp.com/v1", timeout: 5000 });

app.post("/chat", async (req, res) => {
  const moderation = await client.moderations.create({ input: req.body.message });
  if (moderation.results[0].flagged) {
    return res.status(400).json({ error: "rejected" });
  }
  try {
    // ok: PG308
    // ruleid: PG306, PG309
    const completion = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: req.body.message }],
    });
    const text = completion.choices[0].message.content;
    // ok: PG307
    console.log(`tokens: ${completion.usage.total_tokens}`);
    // ruleid: PG307
    console.log("answer", text);
    res.json({ text });
  } catch (err) {
    res.status(502).json({ error: "unavailable" });
  }
});

app.post("/raw", async (req, res) => {
  // ruleid: PG308, PG309
  const response = await axios.post("https://api.openai.com/v1/chat/completions", {
    model: "gpt-4o-mini",
    messages: [{ role: "user", content: req.body.message }],
    max_tokens: 200,
  });
  res.json(response.data);
});

app.post("/fetch", async (req, res) => {
  // ruleid: PG306, PG308
  const response = await fetch("https://api.openai.com/v1/responses", {
    method: "POST",
    headers: { Authorization: `Bearer ${process.env.OPENAI_API_KEY}` },
    body: JSON.stringify({ model: "gpt-4o-mini", input: req.body.message, user: req.body.userHash }),
  });
  res.json(await response.json());
});

app.use((err, req, res, next) => {
  res.status(500).json({ error: "internal" });
});

async function legacy(prompt) {
  // ok: PG306
  return client.completions.create({ model: "gpt-3.5-turbo-instruct", prompt });
}

module.exports = { app, backup, local, proxied, legacy };
