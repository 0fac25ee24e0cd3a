// Lists the string literals of JS files as JSON lines, for test_no_english.py: file, line, the
// text (a template literal's `${…}` parts as `{}`) and what holds it, so the test can tell
// text a user reads from keys, selectors and developer messages.
// Parsed with espree (ESLint's own parser, already a dependency), not with regular expressions.
import { readFileSync } from 'node:fs';
import * as espree from 'espree';

/** @param {any} node @returns {string} `console.warn`, `t`, `new Error`… or '' */
function calleeName(node) {
  const callee = node.callee;
  const name = callee.type === 'Identifier' ? callee.name
    : callee.type === 'MemberExpression' && !callee.computed
      ? `${callee.object.type === 'Identifier' ? callee.object.name : '?'}.${callee.property.name}` : '';
  return node.type === 'NewExpression' ? `new ${name}` : name;
}

const out = [];
for (const file of process.argv.slice(2)) {
  const ast = espree.parse(readFileSync(file, 'utf8'), { ecmaVersion: 'latest', sourceType: 'module', loc: true });
  /** @param {any} node @param {string[]} holders callee names around, innermost last @param {any} parent */
  const walk = (node, holders, parent) => {
    if (!node || typeof node.type !== 'string') return;
    if (node.type === 'ImportDeclaration' || node.type === 'ExportAllDeclaration') return;
    if (node.type === 'ExportNamedDeclaration' && node.source) return;
    const isKey = parent && (parent.type === 'Property' || parent.type === 'PropertyDefinition') && parent.key === node && !parent.computed;
    if (node.type === 'Literal' && typeof node.value === 'string' && !isKey && !node.directive) {
      out.push({ file, line: node.loc.start.line, text: node.value, holders });
    }
    if (node.type === 'TemplateLiteral') {
      out.push({ file, line: node.loc.start.line, text: node.quasis.map((q) => q.value.cooked).join('{}'), holders });
    }
    const inner = node.type === 'CallExpression' || node.type === 'NewExpression' ? [...holders, calleeName(node)] : holders;
    for (const [field, value] of Object.entries(node)) {
      if (field === 'loc' || field === 'parent') continue;
      // a callee's own literals (`'x'.repeat`) are not its arguments
      const held = field === 'callee' ? holders : inner;
      if (Array.isArray(value)) for (const child of value) walk(child, held, node);
      else if (value && typeof value === 'object') walk(value, held, node);
    }
  };
  walk(ast, [], null);
}
process.stdout.write(out.map((entry) => JSON.stringify(entry)).join('\n'));
