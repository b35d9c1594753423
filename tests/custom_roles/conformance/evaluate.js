#!/usr/bin/env node
// Compile a Todo schema with Amplify's real Gen 1 GraphQL transformer and evaluate the generated
// resolver VTL (pipeline init template + auth function) with the simulator's VelocityTemplate.
//
// Input (stdin, JSON):
//   { account, region, authRoleName, unauthRoleName, schema, fields: ["Mutation.createTodo", ...],
//     cases: [{ id, adminRoles: [...] }], callers: [{ id, userArn }] }
// Output (stdout, JSON):
//   { versions: {...}, cases: [{ id, adminRoles, stashAdminRoles,
//       decisions: { <callerId>: { <field>: { admin: bool, authorized: bool } } } }] }
// "admin" is the admin-role branch (`#return` before the rule checks); "authorized" is the whole auth step.
'use strict';

const { executeTransform } = require('@aws-amplify/graphql-transformer');
const { DDB_DEFAULT_DATASOURCE_STRATEGY } = require('@aws-amplify/graphql-transformer-core');
const { VelocityTemplate, AmplifyAppSyncSimulatorAuthenticationType } = require('@aws-amplify/amplify-appsync-simulator');
const { App, Stack } = require('aws-cdk-lib');

// Amplify Gen 1's defaults (amplify-category-api), spelled out because executeTransform requires them all.
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

function compile(request, adminRoles) {
  const env = { account: request.account, region: request.region };
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
    // Resolver templates arrive here as "assets": keep their text instead of uploading them.
    assetProvider: {
      provide: (_scope, _name, props) => {
        assets[props.fileName.replace(/^resolvers\//, '')] = props.fileContent;
        return { assetHash: 'local', httpUrl: 'local', s3BucketName: 'local', s3ObjectKey: props.fileName, s3ObjectUrl: 'local' };
      },
    },
    synthParameters: {
      amplifyEnvironmentName: 'dev',
      apiName: 'todoapi',
      authenticatedUserRoleName: request.authRoleName,
      unauthenticatedUserRoleName: request.unauthRoleName,
      adminRoles,
    },
    authConfig: { defaultAuthentication: { authenticationType: 'AWS_IAM' }, additionalAuthenticationProviders: [] },
    transformersFactoryArgs: {},
    transformParameters: TRANSFORM_PARAMETERS,
    dataSourceStrategies: { Todo: DDB_DEFAULT_DATASOURCE_STRATEGY },
    sqlDirectiveDataSourceStrategies: [],
    printTransformerLog: (log) => process.stderr.write(`${log.level}: ${log.message}\n`),
  });
  // The pipeline resolvers' inline request templates (they put adminRoles/authRole into the stash).
  const init = {};
  for (const node of app.node.findAll()) {
    if (node.cfnResourceType === 'AWS::AppSync::Resolver' && typeof node.requestMappingTemplate === 'string') {
      // CDK tokens (api id, table name) are irrelevant to authorization; make them plain text.
      init[`${node.typeName}.${node.fieldName}`] = node.requestMappingTemplate.replace(/\$\{Token\[[^\]]+\]\}/g, 'TOKEN');
    }
  }
  return { assets, init };
}

// The item the mutation names, and (for update/delete) the stored item the auth step receives.
const ITEM = { id: 'todo-1', name: 'n' };

function render(content, path, stash, userArn, typeName, fieldName, result) {
  const template = new VelocityTemplate({ content, path }, {});
  const info = {
    fieldName,
    fieldNodes: [{ kind: 'Field', name: { value: fieldName } }],
    parentType: typeName,
    variableValues: {},
    fragments: {},
  };
  const context = {
    requestAuthorizationMode: AmplifyAppSyncSimulatorAuthenticationType.AWS_IAM,
    iamToken: { userArn, username: 'AROAEXAMPLE:session' },
    headers: {},
    sourceIp: '127.0.0.1',
  };
  return template.render({ arguments: { input: { ...ITEM } }, source: {}, stash, result }, context, info);
}

function decide(compiled, field, userArn) {
  const [typeName, fieldName] = field.split('.');
  const initText = compiled.init[field];
  // Create/get/subscribe decide in the auth request template; update/delete first read the stored item
  // (request) and decide in the auth response template.
  const decides = (path) => (compiled.assets[path] || '').includes('Authorization Steps');
  const authPath = [`${field}.auth.1.req.vtl`, `${field}.auth.1.res.vtl`].find(decides);
  if (initText === undefined || authPath === undefined) {
    throw new Error(`no resolver templates for ${field}: ${Object.keys(compiled.assets).join(', ')}`);
  }
  const init = render(initText, `${field}.init`, {}, userArn, typeName, fieldName);
  if (init.hadException) throw new Error(`init template failed for ${field}: ${JSON.stringify(init.errors)}`);
  const stored = authPath.endsWith('.res.vtl') ? { ...ITEM, __typename: typeName } : undefined;
  const auth = render(compiled.assets[authPath], authPath, init.stash, userArn, typeName, fieldName, stored);
  const authorized = !auth.hadException && auth.errors.length === 0;
  return { admin: authorized && auth.isReturn, authorized, stashAdminRoles: init.stash.adminRoles };
}

function main() {
  const request = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const output = {
    versions: {
      transformer: require('@aws-amplify/graphql-transformer/package.json').version,
      simulator: require('@aws-amplify/amplify-appsync-simulator/package.json').version,
    },
    cases: [],
  };
  for (const testCase of request.cases) {
    const compiled = compile(request, testCase.adminRoles);
    const decisions = {};
    let stashAdminRoles;
    for (const caller of request.callers) {
      decisions[caller.id] = {};
      for (const field of request.fields) {
        const { admin, authorized, stashAdminRoles: roles } = decide(compiled, field, caller.userArn);
        decisions[caller.id][field] = { admin, authorized };
        stashAdminRoles = roles;
      }
    }
    output.cases.push({ id: testCase.id, adminRoles: testCase.adminRoles, stashAdminRoles, decisions });
  }
  process.stdout.write(JSON.stringify(output));
}

main();
