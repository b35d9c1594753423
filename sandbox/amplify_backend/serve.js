#!/usr/bin/env node
// Amplify's own Gen 1 resolvers on 127.0.0.1: the given schema (any @model types) compiled by @aws-amplify/graphql-transformer
// (with the admin roles an `amplify push` of custom-roles.json would give it) and served by
// @aws-amplify/amplify-appsync-simulator, with DynamoDB at the endpoint it is given (the sandbox's moto).
//
// Started by sandbox/amplify_backend/backend.py with NODE_PATH pointing at a node_modules that holds both
// packages. Input: the path of a JSON file (see CONFIG below); stdin is held open by the launcher and its end
// stops the server. Output: one JSON line on stdout once serving,
// {"port": N, "versions": {...}, "tables": [...], "sandboxMode": bool, "unserved": [...]}, or, when the schema
// does not compile, {"error": {"name", "message", "schema": bool}} (the transformer's own message) and exit 2;
// everything else goes to stderr.
//
// The schema is compiled as the Amplify CLI compiles it, with two departures that the ready line reports:
// - sandbox mode: derived from the schema's `input AMPLIFY { globalAuthRule: AuthRule = { allow: public } }` as
//   the CLI derives it (schemaHasSandboxModeEnabled), and an API_KEY provider added as the CLI prompts for;
// - fields the sandbox cannot serve (@function, @http, @predictions: Lambda, HTTP and AI services it does not
//   have; the private marker @sandboxUnserved(reason:) that introspection_to_schema puts on Gen 2 custom
//   operations) are removed before the transform, and @searchable (an OpenSearch domain) is dropped from its
//   type; each is listed in `unserved` so the launcher can say so and refuse requests to them by name.
//
//   POST /graphql            the simulator's own GraphQL handler (only the sandbox's SigV4 front calls it)
//   POST /__sandbox/deploy   {"adminRoles": [...]}: recompile and reload, as `amplify push` would
//
// Two changes to the simulator, both deliberate and both reported by GET /__sandbox/info:
// - identity: the simulator knows two IAM identities (its authAccessKeyId or not). The SigV4 front verifies
//   the signature itself and passes the verified caller as `Authorization: AWS4-HMAC-SHA256 SandboxCaller=<b64>`;
//   extractIamToken is replaced to read that, so $ctx.identity.userArn is the caller's assumed-role ARN.
// - condition values (optional, `patchConditionValues`): $util.transform.toDynamoDBConditionExpression drops
//   `expressionValues` (aws-amplify/amplify-category-api#1450), so every `condition` argument fails there.
'use strict';

const http = require('http');
const Module = require('module');
const path = require('path');

// One graphql for the simulator and the schema tools it builds with. The pinned project hoists graphql 14.7
// to the top (only as @graphql-tools' peer dependency) while the simulator has its own 15.11: a schema built
// by one and executed by the other fails ("Cannot use GraphQLSchema ... from another module or realm").
// Resolve every `graphql` import to the simulator's copy (the transformer packages use 15.11 as well).
const SIMULATOR_DIR = path.dirname(require.resolve('@aws-amplify/amplify-appsync-simulator/package.json'));
const GRAPHQL_DIR = path.dirname(require.resolve('graphql/package.json', { paths: [SIMULATOR_DIR] }));
const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveOneGraphql(request, parent, ...rest) {
  if (request === 'graphql' || request.startsWith('graphql/')) {
    return originalResolve.call(this, request.replace(/^graphql/, GRAPHQL_DIR), parent, ...rest);
  }
  return originalResolve.call(this, request, parent, ...rest);
};

const { executeTransform } = require('@aws-amplify/graphql-transformer');
const { DDB_DEFAULT_DATASOURCE_STRATEGY } = require('@aws-amplify/graphql-transformer-core');
const simulatorPackage = require('@aws-amplify/amplify-appsync-simulator');
const authHelpers = require('@aws-amplify/amplify-appsync-simulator/lib/utils/auth-helpers/helpers');
const transformModule = require('@aws-amplify/amplify-appsync-simulator/lib/velocity/util/transform');
const filterModule = require('@aws-amplify/amplify-appsync-simulator/lib/velocity/util/transform/dynamodb-filter');
const { App, Stack, aws_dynamodb: dynamodb } = require('aws-cdk-lib');

// aws-cdk-lib 2.2xx keeps a Table's indexes in boxes (`_globalSecondaryIndexes`); the transformer packages
// (written against ^2.187) read `table.globalSecondaryIndexes` as an array for @hasMany and @index. Expose the
// boxes' arrays under the old names (only when the installed CDK lacks them).
for (const [name, boxed] of [['globalSecondaryIndexes', '_globalSecondaryIndexes'], ['localSecondaryIndexes', '_localSecondaryIndexes']]) {
  if (!(name in dynamodb.Table.prototype)) {
    Object.defineProperty(dynamodb.Table.prototype, name, {
      configurable: true,
      get() {
        const box = this[boxed];
        return box && typeof box.getMutable === 'function' ? box.getMutable() : box;
      },
    });
  }
}

// Amplify Gen 1's defaults (amplify-category-api), as in tests/custom_roles/conformance/evaluate.js.
const TRANSFORM_PARAMETERS = {
  enableTransformerCfnOutputs: true,
  shouldDeepMergeDirectiveConfigDefaults: true,
  disableResolverDeduping: false,
  sandboxModeEnabled: false, // per schema: see sandboxModeEnabled() below
  allowDestructiveGraphqlSchemaUpdates: false,
  replaceTableUponGsiUpdate: false,
  allowGen1Patterns: true,
  useSubUsernameForDefaultIdentityClaim: true,
  populateOwnerFieldForStaticGroupAuth: true,
  suppressApiKeyGeneration: false,
  subscriptionsInheritPrimaryAuth: false,
  secondaryKeyAsGSI: true,
  enableAutoIndexQueryNames: true,
  respectPrimaryKeyAttributesOnConnectionField: true,
  enableSearchNodeToNodeEncryption: false,
};

// --- the two changes to the simulator ------------------------------------------------------------------
const CALLER_PREFIX = 'AWS4-HMAC-SHA256 SandboxCaller=';
const originalExtractIamToken = authHelpers.extractIamToken;
authHelpers.extractIamToken = (authorization, appSyncConfig) => {
  if (typeof authorization === 'string' && authorization.startsWith(CALLER_PREFIX)) {
    const caller = JSON.parse(Buffer.from(authorization.slice(CALLER_PREFIX.length), 'base64').toString('utf8'));
    return { accountId: caller.accountId, userArn: caller.userArn, username: caller.username };
  }
  return originalExtractIamToken(authorization, appSyncConfig);
};

const originalCondition = transformModule.transformUtils.toDynamoDBConditionExpression;
function patchedCondition(condition) {
  const result = filterModule.generateFilterExpression(condition.toJSON());
  const expression = result.expressions.join(' ').trim();
  // generateFilterExpression also emits a value for attributeExists, which the expression never uses;
  // DynamoDB refuses unused values, so keep only the ones the expression names (as AppSync's util does).
  const used = new Set(expression.match(/:[A-Za-z0-9_]+/g) || []);
  const expressionValues = Object.fromEntries(
    Object.entries(result.expressionValues).filter(([name]) => used.has(name)),
  );
  return JSON.stringify({ expression, expressionNames: result.expressionNames, expressionValues });
}


// --- the schema as the Amplify CLI hands it to the transformer ------------------------------------------
class SchemaError extends Error {
  constructor(message) {
    super(message);
    this.name = 'AmplifyCliSchemaError';
  }
}

// The CLI's own rule (aws-amplify/amplify-category-api@826ffe880a, the last tree holding the Gen 1 CLI plugin:
// packages/amplify-category-api/src/graphql-transformer/transformer-options-v2.ts:176
//   `const sandboxModeEnabled = schemaHasSandboxModeEnabled(project.schema, docLink);`
// and sandbox-mode-helpers.ts:44-69): sandbox mode is on when the first `input AMPLIFY` has a `globalAuthRule`
// (or `global_auth_rule`) of type AuthRule whose default's first field is `allow: public`; any other default
// is an error. transformer-options-v2.ts:185-187 then prompts for an API key and adds the API_KEY provider.
// The docLink is @aws-amplify/amplify-cli-core's getGraphQLTransformerAuthDocLink(2) (lib/utils/doc-links.js).
const AUTH_DOC_LINK = 'https://docs.amplify.aws/cli/graphql/authorization-rules';
function sandboxModeEnabled(schema) {
  const { parse } = require('graphql');
  const amplify = parse(schema).definitions.find((d) => d.kind === 'InputObjectTypeDefinition' && d.name.value === 'AMPLIFY');
  if (!amplify) return false;
  const rule = (amplify.fields || []).find((f) => ['global_auth_rule', 'globalAuthRule'].includes(f.name.value));
  if (!rule) return false;
  const first = rule.defaultValue && rule.defaultValue.fields && rule.defaultValue.fields[0];
  if (rule.type.kind === 'NamedType' && rule.type.name.value === 'AuthRule' && first && first.name.value === 'allow' && first.value.value === 'public') {
    return true;
  }
  throw new SchemaError(`There was a problem with your auth configuration. Learn more about auth here: ${AUTH_DOC_LINK}`);
}

// Field directives whose resolvers call what the sandbox does not have, and why each is not served.
const UNSERVED_FIELD_DIRECTIVES = {
  function: (args) => `@function(name: ${JSON.stringify(args.name || '')}) runs a Lambda function, which the sandbox does not have`,
  http: (args) => `@http(url: ${JSON.stringify(args.url || '')}) calls an HTTP endpoint, which the sandbox does not call`,
  predictions: () => '@predictions calls Amazon Rekognition/Translate/Polly, which the sandbox does not have',
  sandboxUnserved: (args) => args.reason || 'not served by the sandbox',
};

// The schema with the fields of UNSERVED_FIELD_DIRECTIVES removed and @searchable dropped, and what was done.
// Unchanged text (byte for byte) when there is nothing to remove.
function withoutUnservedFields(schema) {
  const { parse, print, valueFromASTUntyped } = require('graphql');
  const document = parse(schema);
  const unserved = [];
  const argumentsOf = (directive) =>
    Object.fromEntries((directive.arguments || []).map((a) => [a.name.value, valueFromASTUntyped(a.value)]));
  const definitions = [];
  for (const definition of document.definitions) {
    if (!['ObjectTypeDefinition', 'ObjectTypeExtension'].includes(definition.kind)) {
      definitions.push(definition);
      continue;
    }
    const typeName = definition.name.value;
    let directives = definition.directives || [];
    const searchable = directives.find((d) => d.name.value === 'searchable');
    if (searchable) {
      const { plurality, toUpper, graphqlName } = require('graphql-transformer-common');
      const queries = argumentsOf(searchable).queries;
      const field = queries && queries.search ? queries.search : graphqlName(`search${plurality(toUpper(typeName), true)}`);
      unserved.push({
        typeName: 'Query',
        fieldName: field,
        directive: 'searchable',
        action: 'directive dropped',
        reason: `@searchable on ${typeName} needs an OpenSearch domain, which the sandbox does not have (the model itself is served)`,
      });
      directives = directives.filter((d) => d !== searchable);
    }
    const fields = [];
    for (const field of definition.fields || []) {
      const directive = (field.directives || []).find((d) => d.name.value in UNSERVED_FIELD_DIRECTIVES);
      if (!directive) {
        fields.push(field);
        continue;
      }
      unserved.push({
        typeName,
        fieldName: field.name.value,
        directive: directive.name.value,
        action: 'field left out',
        reason: UNSERVED_FIELD_DIRECTIVES[directive.name.value](argumentsOf(directive)),
      });
    }
    const emptied = fields.length === 0 && (definition.fields || []).length > 0;
    if (emptied && ['Query', 'Mutation', 'Subscription'].includes(typeName)) continue; // nothing left to serve
    definitions.push({ ...definition, directives, fields });
  }
  if (!unserved.length) return { schema, unserved };
  return { schema: print({ ...document, definitions }), unserved };
}

// Transformer errors that are about the schema (Amplify's own message is the answer), by class name.
const SCHEMA_ERRORS = new Set([
  'AmplifyCliSchemaError',
  'GraphQLError',
  'InvalidDirectiveError',
  'InvalidMigrationError',
  'InvalidTransformerError',
  'SchemaValidationError',
  'TransformerContractError',
  'UnknownDirectiveError',
]);

// --- compile: the transformer's CloudFormation resources -> the simulator's configuration ---------------
// The @model types without an @auth of their own: in sandbox mode, API-key callers only.
function modelsWithoutAuth(schema) {
  const { parse } = require('graphql');
  const has = (d, name) => (d.directives || []).some((x) => x.name.value === name);
  return parse(schema)
    .definitions.filter((d) => d.kind === 'ObjectTypeDefinition' && has(d, 'model') && !has(d, 'auth'))
    .map((d) => d.name.value);
}

// The @model types of the schema (each gets its own table and data source).
function modelNames(schema) {
  const { parse } = require('graphql');
  return parse(schema)
    .definitions.filter((d) => d.kind === 'ObjectTypeDefinition' && (d.directives || []).some((x) => x.name.value === 'model'))
    .map((d) => d.name.value);
}

// Authorization providers the schema's @auth rules name besides IAM: the transformer refuses a rule whose
// provider the API does not have. The sandbox's callers are IAM only; the others just have to exist.
function additionalProviders(schema, sandboxMode) {
  const rules = schema.match(/\{[^{}]*allow\s*:[^{}]*\}/g) || [];
  const providers = new Set();
  for (const rule of rules) {
    const provider = (rule.match(/provider\s*:\s*(\w+)/) || [])[1];
    const allow = (rule.match(/allow\s*:\s*(\w+)/) || [])[1];
    const chosen = provider || ({ owner: 'userPools', groups: 'userPools', private: 'userPools', public: 'apiKey', custom: 'function' })[allow];
    if (chosen && chosen !== 'iam') providers.add(chosen);
  }
  // Sandbox mode: the CLI adds an API key (transformer-options-v2.ts:185-187), and the transformer needs one.
  if (sandboxMode) providers.add('apiKey');
  const out = [];
  if (providers.has('userPools')) out.push({ authenticationType: 'AMAZON_COGNITO_USER_POOLS', userPoolConfig: { userPoolId: 'sandbox-user-pool' } });
  if (providers.has('apiKey')) out.push({ authenticationType: 'API_KEY', apiKeyConfig: { apiKeyExpirationDays: 7 } });
  if (providers.has('oidc')) out.push({ authenticationType: 'OPENID_CONNECT', openIDConnectConfig: { name: 'sandbox-oidc', issuerUrl: 'http://127.0.0.1/oidc' } });
  if (providers.has('function')) out.push({ authenticationType: 'AWS_LAMBDA', lambdaAuthorizerConfig: { lambdaFunction: 'sandbox-authorizer', ttlSeconds: 0 } });
  return out;
}

function compile(request, adminRoles) {
  const env = { account: request.account, region: request.region };
  const sandboxMode = sandboxModeEnabled(request.schema);
  const prepared = withoutUnservedFields(request.schema);
  const models = modelNames(prepared.schema);
  const providers = additionalProviders(prepared.schema, sandboxMode);
  const app = new App();
  const stack = new Stack(app, 'Api', { env });
  const assets = {};
  executeTransform({
    schema: prepared.schema,
    scope: stack,
    nestedStackProvider: {
      provide: (scope, name) => {
        const nested = new Stack(scope, name, { env });
        nested.setParameter = () => {};
        return nested;
      },
    },
    assetProvider: {
      provide: (_scope, _name, props) => {
        assets[props.fileName] = props.fileContent;
        const url = `asset://${props.fileName}`;
        return { assetHash: 'local', httpUrl: url, s3BucketName: 'local', s3ObjectKey: props.fileName, s3ObjectUrl: url };
      },
    },
    synthParameters: {
      amplifyEnvironmentName: request.envName,
      apiName: request.apiName,
      authenticatedUserRoleName: request.authRoleName,
      unauthenticatedUserRoleName: request.unauthRoleName,
      adminRoles,
      ...(providers.some((p) => p.authenticationType === 'AMAZON_COGNITO_USER_POOLS') ? { userPoolId: 'sandbox-user-pool' } : {}),
      // Gen 2 (defineData): every IAM principal that is not a Cognito identity-pool identity is authorized.
      enableIamAccess: Boolean(request.enableIamAccess),
    },
    authConfig: { defaultAuthentication: { authenticationType: 'AWS_IAM' }, additionalAuthenticationProviders: providers },
    transformersFactoryArgs: {},
    transformParameters: { ...TRANSFORM_PARAMETERS, sandboxModeEnabled: sandboxMode },
    dataSourceStrategies: Object.fromEntries(models.map((name) => [name, DDB_DEFAULT_DATASOURCE_STRATEGY])),
    sqlDirectiveDataSourceStrategies: [],
    printTransformerLog: (log) => process.stderr.write(`${log.level}: ${log.message}\n`),
  });

  const nodes = app.node.findAll().filter((n) => typeof n.cfnResourceType === 'string');
  const resolve = (node, value) => Stack.of(node).resolve(value);
  const byLogicalId = {};
  for (const node of nodes) byLogicalId[resolve(node, node.logicalId)] = node;
  const props = (node) => resolve(node, node._cfnProperties);

  // CloudFormation intrinsics -> the values this deployment has.
  const text = (value) => {
    if (typeof value === 'string') return value.startsWith('asset://') ? assets[value.slice(8)] : value;
    if (value && value['Fn::Join']) return value['Fn::Join'][1].map(text).join(value['Fn::Join'][0]);
    if (value && value['Fn::GetAtt']) {
      const [id, attribute] = value['Fn::GetAtt'];
      const target = byLogicalId[id];
      if (attribute === 'ApiId') return request.apiId;
      if (attribute === 'Name' && target) return props(target).name;
      if (attribute === 'FunctionId' && target) return props(target).name;
      if (attribute === 'GraphQLUrl') return 'http://127.0.0.1/graphql';
      return `${id}.${attribute}`;
    }
    if (value && value.Ref) {
      const target = byLogicalId[value.Ref];
      if (target && target.cfnResourceType === 'AWS::DynamoDB::Table') return tableOf(target).tableName;
      if (value.Ref === 'AWS::Region') return request.region;
      if (value.Ref === 'AWS::AccountId') return request.account;
      if (value.Ref === 'AWS::URLSuffix') return 'amazonaws.com';
      return value.Ref;
    }
    throw new Error(`cannot render ${JSON.stringify(value)}`);
  };

  // Each model's table as CloudFormation would create it (overrides applied: @primaryKey, @index, @hasMany).
  const tableCache = new Map();
  const tableOf = (node) => {
    if (!tableCache.has(node)) {
      const rendered = Stack.of(node).resolve(node._toCloudFormation());
      const p = Object.values(rendered.Resources)[0].Properties;
      const name = text(p.TableName);
      const gsis = (p.GlobalSecondaryIndexes || []).map((g) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        Projection: g.Projection,
      }));
      tableCache.set(node, {
        model: name.split('-')[0],
        tableName: name,
        KeySchema: p.KeySchema,
        AttributeDefinitions: p.AttributeDefinitions,
        ...(gsis.length ? { GlobalSecondaryIndexes: gsis } : {}),
      });
    }
    return tableCache.get(node);
  };

  const mappingTemplates = [];
  const template = (path, inline, location) => {
    const content = inline !== undefined ? text(inline) : text(location);
    if (content === undefined) throw new Error(`no template for ${path}`);
    mappingTemplates.push({ path, content });
    return path;
  };
  const dataSources = [];
  const functions = [];
  const resolvers = [];
  for (const node of nodes) {
    const p = props(node);
    if (node.cfnResourceType === 'AWS::AppSync::DataSource') {
      if (p.type === 'AMAZON_DYNAMODB') {
        dataSources.push({
          type: 'AMAZON_DYNAMODB',
          name: p.name,
          config: {
            tableName: text(p.dynamoDbConfig.tableName),
            endpoint: request.dynamodb.endpoint,
            region: request.region,
            credentials: request.dynamodb.credentials,
          },
        });
      } else {
        dataSources.push({ type: p.type, name: p.name });
      }
    } else if (node.cfnResourceType === 'AWS::AppSync::FunctionConfiguration') {
      functions.push({
        name: p.name,
        dataSourceName: text(p.dataSourceName),
        requestMappingTemplateLocation: template(`functions/${p.name}.req.vtl`, p.requestMappingTemplate, p.requestMappingTemplateS3Location),
        responseMappingTemplateLocation: template(`functions/${p.name}.res.vtl`, p.responseMappingTemplate, p.responseMappingTemplateS3Location),
      });
    } else if (node.cfnResourceType === 'AWS::AppSync::Resolver') {
      const field = `${p.typeName}.${p.fieldName}`;
      resolvers.push({
        kind: p.kind || 'UNIT',
        typeName: p.typeName,
        fieldName: p.fieldName,
        functions: (p.pipelineConfig && p.pipelineConfig.functions ? p.pipelineConfig.functions : []).map(text),
        dataSourceName: p.dataSourceName ? text(p.dataSourceName) : undefined,
        requestMappingTemplateLocation: template(`resolvers/${field}.req.vtl`, p.requestMappingTemplate, p.requestMappingTemplateS3Location),
        responseMappingTemplateLocation: template(`resolvers/${field}.res.vtl`, p.responseMappingTemplate, p.responseMappingTemplateS3Location),
      });
    }
  }
  const schemaNode = nodes.find((n) => n.cfnResourceType === 'AWS::AppSync::GraphQLSchema');
  const schemaProps = props(schemaNode);
  const schema = schemaProps.definition !== undefined ? text(schemaProps.definition) : text(schemaProps.definitionS3Location);
  tables.length = 0;
  for (const node of nodes) if (node.cfnResourceType === 'AWS::DynamoDB::Table') tables.push(tableOf(node));
  compiled.sandboxMode = sandboxMode;
  // The transformer's own name for each field's post-auth step ("Sandbox Mode Enabled, IAM Access Disabled",
  // ...), read from the templates it generated: what decides a model without @auth (a model's own @auth step
  // runs before it and marks an admitted caller), for the launcher to show.
  const templateText = Object.fromEntries(mappingTemplates.map((t) => [t.path, t.content]));
  compiled.postAuth = {};
  for (const r of resolvers) {
    for (const name of r.functions) {
      const head = (templateText[`functions/${name}.req.vtl`] || '').match(/^## \[Start\] (Sandbox Mode [^*]*?)\. \*\*/);
      if (head) compiled.postAuth[`${r.typeName}.${r.fieldName}`] = head[1];
    }
  }
  compiled.sandboxModeModels = sandboxMode ? modelsWithoutAuth(prepared.schema) : [];
  compiled.unserved = prepared.unserved;
  compiled.providers = providers.map((p) => p.authenticationType);
  return {
    schema: { content: schema },
    resolvers,
    functions,
    dataSources,
    mappingTemplates,
    appSync: {
      name: request.apiName,
      defaultAuthenticationType: { authenticationType: 'AWS_IAM' },
      additionalAuthenticationProviders: providers,
      accountId: request.account,
      authRoleName: request.authRoleName,
      unAuthRoleName: request.unauthRoleName,
    },
  };
}

// The tables of the last compile, for the launcher to create in account B (ready line and deploy answer).
const tables = [];
// What the last compile decided beyond the transformer's output (ready line and deploy answer).
const compiled = { sandboxMode: false, sandboxModeModels: [], postAuth: {}, unserved: [], providers: [] };

function errorReport(e) {
  const name = (e && (e.name || (e.constructor && e.constructor.name))) || 'Error';
  return { name, message: String(e && e.message !== undefined ? e.message : e), schema: SCHEMA_ERRORS.has(name) };
}

// --- serve --------------------------------------------------------------------------------------------
// The simulator logs each DynamoDB error and its payload to stdout: keep stdout for the ready line.
console.log = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);

async function main() {
  // CONFIG: { account, region, apiId, apiName, envName, authRoleName, unauthRoleName, schema (any number of
  //           @model types; each table is named <Model>-<apiId>-<envName> as Amplify names it), adminRoles: [...],
  //           enableIamAccess: bool (Gen 2), patchConditionValues: bool, dynamodb: { endpoint, credentials } }
  const request = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
  transformModule.transformUtils.toDynamoDBConditionExpression = request.patchConditionValues
    ? patchedCondition
    : originalCondition;
  const simulator = new simulatorPackage.AmplifyAppSyncSimulator({ port: 0, wsPort: 0 });
  let adminRoles = request.adminRoles;
  let configuration;
  try {
    configuration = compile(request, adminRoles);
  } catch (e) {
    // The schema does not compile: say so with the transformer's own message, on the ready line.
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    process.stdout.write(`${JSON.stringify({ error: errorReport(e) })}\n`, () => process.exit(2));
    return;
  }
  simulator.init(configuration);
  // The simulator's own start() listens on every interface: serve its request handler on loopback only.
  const app = simulator._server._operationServer.app;
  app.post('/__sandbox/deploy', (req, res) => {
    try {
      adminRoles = req.body.adminRoles;
      simulator.reload(compile(request, adminRoles));
      res.send({ adminRoles, tables, ...compiled });
    } catch (e) {
      res.status(500).send({ error: errorReport(e), stack: String(e && e.stack ? e.stack : e) });
    }
  });
  app.get('/__sandbox/info', (_req, res) => {
    res.send({
      adminRoles,
      patchConditionValues: Boolean(request.patchConditionValues),
      versions: versions(),
      ...compiled,
    });
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  process.stdout.write(`${JSON.stringify({ port: server.address().port, versions: versions(), tables, ...compiled })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0)); // the launcher closed our stdin: it is gone
}

function versions() {
  return {
    transformer: require('@aws-amplify/graphql-transformer/package.json').version,
    simulator: require('@aws-amplify/amplify-appsync-simulator/package.json').version,
  };
}

main().catch((e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
