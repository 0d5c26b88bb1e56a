/** IoT Hub query language over device twins: `runQuery`, the parser and the evaluator. */
export { QueryError } from './errors';
export { tokenize, type Token, type TokenKind } from './tokenizer';
export {
  parseCondition,
  parseQuery,
  UNALIASED_COUNT_KEY,
  type CompareOp,
  type Expr,
  type Field,
  type PathExpr,
  type Query,
  type Selection,
} from './parser';
export { evaluate, matches, project, resolvePath } from './evaluate';
export {
  compileCondition,
  makeContinuationToken,
  readContinuationToken,
  runQuery,
  QUERY_PAGE_SIZE,
  QUERY_SECRET_META_KEY,
  type QueryPage,
  type RunQueryOptions,
  type TwinSource,
} from './run';
