#!/usr/bin/env node
// Amplify's own Gen 1 resolvers on 127.0.0.1: the given schema (any @model types) compiled by @aws-amplify/graphql-transformer
// (with the admin roles an `amplify push` of custom-roles.json would give it) and served by
// @aws-amplify/amplify-appsync-simulator, with DynamoDB at the endpoint it is given (the sandbox's moto).
//
// Started by sandbox/amplify_backend/backend.py with NODE_PATH pointing at a node_modules that holds both
// packages. Input: the path of a JSON file (see CONFIG below); stdin is held open by the launcher and its end
// stops the server. Output: one JSON line on stdout once serving,
// {"port": N, "versions": {...}}; everything else goes to stderr.
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
  sandboxModeEnabled: false,
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

// --- compile: the transformer's CloudFormation resources -> the simulator's configuration ---------------
// The @model types of the schema (each gets its own table and data source).
function modelNames(schema) {
  const { parse } = require('graphql');
  return parse(schema)
    .definitions.filter((d) => d.kind === 'ObjectTypeDefinition' && (d.directives || []).some((x) => x.name.value === 'model'))
    .map((d) => d.name.value);
}

// Authorization providers the schema's @auth rules name besides IAM: the transformer refuses a rule whose
// provider the API does not have. The sandbox's callers are IAM only; the others just have to exist.
function additionalProviders(schema) {
  const rules = schema.match(/\{[^{}]*allow\s*:[^{}]*\}/g) || [];
  const providers = new Set();
  for (const rule of rules) {
    const provider = (rule.match(/provider\s*:\s*(\w+)/) || [])[1];
    const allow = (rule.match(/allow\s*:\s*(\w+)/) || [])[1];
    const chosen = provider || ({ owner: 'userPools', groups: 'userPools', private: 'userPools', public: 'apiKey', custom: 'function' })[allow];
    if (chosen && chosen !== 'iam') providers.add(chosen);
  }
  const out = [];
  if (providers.has('userPools')) out.push({ authenticationType: 'AMAZON_COGNITO_USER_POOLS', userPoolConfig: { userPoolId: 'sandbox-user-pool' } });
  if (providers.has('apiKey')) out.push({ authenticationType: 'API_KEY', apiKeyConfig: { apiKeyExpirationDays: 7 } });
  if (providers.has('oidc')) out.push({ authenticationType: 'OPENID_CONNECT', openIDConnectConfig: { name: 'sandbox-oidc', issuerUrl: 'http://127.0.0.1/oidc' } });
  if (providers.has('function')) out.push({ authenticationType: 'AWS_LAMBDA', lambdaAuthorizerConfig: { lambdaFunction: 'sandbox-authorizer', ttlSeconds: 0 } });
  return out;
}

function compile(request, adminRoles) {
  const env = { account: request.account, region: request.region };
  const models = modelNames(request.schema);
  const providers = additionalProviders(request.schema);
  const app = new App();
  const stack = new Stack(app, 'Api', { env });
  const assets = {};
  executeTransform({
    schema: request.schema,
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
    transformParameters: TRANSFORM_PARAMETERS,
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
  simulator.init(compile(request, adminRoles));
  // The simulator's own start() listens on every interface: serve its request handler on loopback only.
  const app = simulator._server._operationServer.app;
  app.post('/__sandbox/deploy', (req, res) => {
    try {
      adminRoles = req.body.adminRoles;
      simulator.reload(compile(request, adminRoles));
      res.send({ adminRoles, tables });
    } catch (e) {
      res.status(500).send({ error: String(e && e.stack ? e.stack : e) });
    }
  });
  app.get('/__sandbox/info', (_req, res) => {
    res.send({
      adminRoles,
      patchConditionValues: Boolean(request.patchConditionValues),
      versions: versions(),
    });
  });
  const server = http.createServer(app);
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  process.stdout.write(`${JSON.stringify({ port: server.address().port, versions: versions(), tables })}\n`);
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
