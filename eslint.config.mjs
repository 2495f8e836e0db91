// Lint rules. The one that matters most for the architecture: only src/extension may import 'vscode'
// (core, shared, CLI and webview must run in plain Node or a browser).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noVscode = {
  'no-restricted-imports': ['error', {
    paths: [{ name: 'vscode', message: "Only src/extension may import 'vscode' (see DESIGN.md: core/shared/webview run without VS Code)." }],
  }],
  'no-restricted-syntax': ['error', {
    selector: "CallExpression[callee.name='require'][arguments.0.value='vscode']",
    message: "Only src/extension may require 'vscode'.",
  }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'artifacts/**', 'models/**/*.py', 'demo-workspace/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', performance: 'readonly', __dirname: 'readonly', TextDecoder: 'readonly', TextEncoder: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly', WebAssembly: 'readonly', globalThis: 'readonly', fetch: 'readonly', window: 'readonly', document: 'readonly', self: 'readonly', navigator: 'readonly', requestAnimationFrame: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  { files: ['src/core/**', 'src/shared/**', 'src/cli/**', 'webview/**'], rules: noVscode },
  {
    // Plain CommonJS files loaded directly by VS Code (the test harness extension).
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
