import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

// The house's layers, top down: index.ts and config.ts; components/; lib/ (and checker/, policy/).
// tools/, scripts/ and tests/ stand beside the program and may use any of it. No import runs up.
const above = (...paths) => ({ patterns: paths.map((group) => ({ group, message: "imports run down the layers only (README: Repository layout)" })) });

export default tseslint.config(
  { ignores: ["node_modules/", "build/", "examples/", "bench/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["tests/reporter.js", "bin/*.js"],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["lib/**/*.ts", "checker/**/*.ts", "policy/**/*.ts"],
    rules: { "no-restricted-imports": ["error", above(["**/components/*", "**/tools/*", "**/scripts/*", "**/tests/*", "**/config", "**/index"])] },
  },
  {
    files: ["components/**/*.ts"],
    rules: { "no-restricted-imports": ["error", above(["**/tools/*", "**/scripts/*", "**/tests/*", "**/config", "**/index"])] },
  },
);
