import type { Command } from "commander";
import { addModelOptions, type ModelOptions } from "./ai-options.js";
import type { CliContext } from "./cli-context.js";
import { examples } from "./rendering.js";

/**
 * `lakehouse embed "<text>"...`: the vectors of texts (AiService.Embed), one
 * NDJSON line per text, so they pipe into other tools.
 */
export function registerEmbedCommand(program: Command, context: CliContext): void {
  addModelOptions(
    program
      .command("embed")
      .description("turn texts into vectors (one JSON line per text: text, dimensions, values)")
      .argument("<text...>", "the texts to embed"),
  )
    .addHelpText(
      "after",
      examples([
        `lakehouse embed "quarterly revenue" "churned customers"`,
        `lakehouse embed "hello" --provider ollama --model nomic-embed-text`,
      ]),
    )
    .action(async (texts: string[], options: ModelOptions, command: Command) => {
      const gateway = await context.connect(command);
      const response = await gateway.ai.embed(
        { texts, provider: options.provider ?? "", model: options.model ?? "" },
        gateway.callOptions(),
      );
      for (const [index, embedding] of response.embeddings.entries()) {
        await context.stdout.write(
          `${JSON.stringify({
            text: texts[index],
            provider: response.provider,
            model: response.model,
            dimensions: response.dimensions,
            values: embedding.values,
          })}\n`,
        );
      }
    });
}
