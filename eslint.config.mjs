// A small rule set, each part for a reason (README, Development):
// - eslint's and typescript-eslint's recommended rules: real mistakes (unused code, unsafe declarations), not style;
// - the type-aware promise rules: a floating or misused promise in a Lambda is work cut off when the invocation ends,
//   or an error that never reaches the one place that maps errors to HTTP status;
// - `any` only with a reason written beside it (an eslint-disable comment that says why);
// - `===` everywhere: `==` coerces, and header and payload values are attacker-chosen.
// Formatting is Prettier's (.prettierrc.json), not lint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.serverless/', '.esbuild/', 'coverage/', '.demo/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Tests and the bench load modules afresh inside jest.isolateModules or after setting the environment, which only
    // a `require()` at that point does.
    files: ['tests/**/*.ts', 'scripts/bench.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        __filename: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        afterAll: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' } },
  },
);
