/**
 * Copy-ready snippets for the Clients page. These are code and configuration (the same in every
 * language); the explanations around them are in the message catalogues.
 */
export interface RecipeInput {
  /** e.g. http://127.0.0.1:8000 */
  origin: string;
  key: string;
  model: string;
}

export type RecipeId = "cherry" | "lobe" | "nextchat" | "tavern" | "openaiPy" | "openaiJs" | "claude" | "codex" | "curl";

export function recipeCode(id: RecipeId, r: RecipeInput): string | null {
  const v1 = `${r.origin}/v1`;
  switch (id) {
    case "cherry":
    case "tavern":
      return null;
    case "lobe":
      return `OPENAI_API_KEY=${r.key}\nOPENAI_PROXY_URL=${v1}`;
    case "nextchat":
      return `OPENAI_API_KEY=${r.key}\nBASE_URL=${r.origin}\nCUSTOM_MODELS=+${r.model}`;
    case "openaiPy":
      return `from openai import OpenAI\n\nclient = OpenAI(base_url="${v1}", api_key="${r.key}")\nreply = client.chat.completions.create(\n    model="${r.model}",\n    messages=[{"role": "user", "content": "Hello"}],\n)\nprint(reply.choices[0].message.content)`;
    case "openaiJs":
      return `import OpenAI from "openai";\n\nconst client = new OpenAI({ baseURL: "${v1}", apiKey: "${r.key}" });\nconst reply = await client.chat.completions.create({\n  model: "${r.model}",\n  messages: [{ role: "user", content: "Hello" }],\n});\nconsole.log(reply.choices[0].message.content);`;
    case "claude":
      return `export ANTHROPIC_BASE_URL=${r.origin}\nexport ANTHROPIC_AUTH_TOKEN=${r.key}\nclaude`;
    case "codex":
      return `model = "${r.model}"\nmodel_provider = "grok2api"\n\n[model_providers.grok2api]\nname = "Grok2API"\nbase_url = "${v1}"\nenv_key = "GROK2API_API_KEY"\nwire_api = "responses"\n\n# then: export GROK2API_API_KEY=${r.key}`;
    case "curl":
      return `curl ${v1}/chat/completions \\\n  -H "Authorization: Bearer ${r.key}" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model":"${r.model}","messages":[{"role":"user","content":"Hello"}]}'`;
  }
}

export const RECIPES: RecipeId[] = ["cherry", "lobe", "nextchat", "tavern", "openaiPy", "openaiJs", "claude", "codex", "curl"];
