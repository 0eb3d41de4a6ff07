import { describe, expect, it } from 'vitest';
import { DYNAMODB_LOCAL_JVM_OPTIONS, jvmOptions } from '../../../bin/harness/dynamodb-local.js';

describe('DynamoDB Local JVM options', () => {
  it('runs the stand-in with the C1 compiler only when nothing is set', () => {
    expect(DYNAMODB_LOCAL_JVM_OPTIONS).toBe('-XX:TieredStopAtLevel=1');
    expect(jvmOptions({})).toBe(DYNAMODB_LOCAL_JVM_OPTIONS);
    expect(jvmOptions({ JDK_JAVA_OPTIONS: '  ' })).toBe(DYNAMODB_LOCAL_JVM_OPTIONS);
  });

  it("keeps the caller's JDK_JAVA_OPTIONS", () => {
    expect(jvmOptions({ JDK_JAVA_OPTIONS: '-XX:TieredStopAtLevel=4' })).toBe('-XX:TieredStopAtLevel=4');
  });
});
