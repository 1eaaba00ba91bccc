import { describe, expect, it } from 'vitest';
import * as contract from '@topoforge/plugin-contract';
import * as host from '@topoforge/plugin-host';
import * as testing from '@topoforge/plugin-testing';
import * as sdk from '../src/index.js';
import * as sdkTesting from '../src/testing-entry.js';

describe('@topoforge/plugin-sdk is a façade over the three packages', () => {
  it('re-exports the contract and the host, and the harness under ./testing', () => {
    for (const k of Object.keys(contract)) expect(sdk[k as keyof typeof sdk], k).toBe(contract[k as keyof typeof contract]);
    for (const k of Object.keys(host)) expect(sdk[k as keyof typeof sdk], k).toBe(host[k as keyof typeof host]);
    for (const k of Object.keys(testing)) expect(sdkTesting[k as keyof typeof sdkTesting], k).toBe(testing[k as keyof typeof testing]);
    expect(sdk.CONTRACT_VERSION).toBe(2);
  });
});
