// A batch worker written with require(): TLS turned off for the whole process while it calls OpenAI.
const OpenAI = require("openai");
const https = require("https");

// ruleid: PG304
process.env.NODE_TLS_REJECT_UNAUTHORIZED = 0;

// ruleid: PG304
const agent = new https.Agent({ rejectUnauthorized: false });
// ruleid: PG207
const client = new OpenAI({ httpAgent: agent, timeout: 60000 });
// ok: PG207
const billed = new OpenAI({ organization: process.env.OPENAI_ORG_ID, project: process.env.OPENAI_PROJECT_ID });

module.exports = { client, billed };
