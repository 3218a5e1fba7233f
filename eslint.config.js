// ESLint flat config: typescript-eslint with type information (for
// no-floating-promises), and a ban on Node built-ins inside workflows/, whose
// code runs in Temporal's deterministic sandbox.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**', 'scratch/**', 'contracts/artifacts/**', 'ml/**/*.py', 'infra/helm/**', 'bin/**', 'scripts/*.mjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-explicit-any': 'warn',
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    // node:test's test()/describe() return promises the runner tracks itself.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: 'workflows run in a deterministic sandbox: no Node built-ins' })),
          patterns: [{ group: ['../activities/*', '../activities/**'], allowTypeImports: true, message: 'workflows see activities only as types (import type)' }],
        },
      ],
    },
  },
);
