import { describe, expect, it } from 'vitest';
import { DEVELOPMENT_TOKEN_SECONDS, developmentTokenPlan, isLoopbackHost } from '../../src/development-token.js';

describe('isLoopbackHost', () => {
  it.each([
    '127.0.0.1',
    '127.5.5.5',
    '127.255.255.254',
    '::1',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    'localhost',
    'LOCALHOST',
    'localhost.',
  ])('should count %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    '0.0.0.0',
    '::',
    '192.168.1.1',
    '10.0.0.1',
    '128.0.0.1',
    '126.255.255.255',
    '::2',
    '::ffff:192.168.1.1',
    'gateway.example.com',
    'localhost.example.com',
    'my-localhost',
  ])('should not count %s as loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('developmentTokenPlan', () => {
  it('should issue the week-long token on a loopback address', () => {
    expect(developmentTokenPlan({ HOST: '127.0.0.1' })).toEqual({ issue: true, lifetimeSeconds: DEVELOPMENT_TOKEN_SECONDS });
  });

  it('should shorten the token to AUTH_MAX_TOKEN_LIFETIME, so that the gateway accepts its own token', () => {
    expect(developmentTokenPlan({ HOST: '::1', AUTH_MAX_TOKEN_LIFETIME: 3600 })).toEqual({ issue: true, lifetimeSeconds: 3600 });
  });

  it('should refuse beyond loopback with a reason that names the host and how to get a token', () => {
    const plan = developmentTokenPlan({ HOST: '0.0.0.0' });
    expect(plan.issue).toBe(false);
    expect(plan.issue === false && plan.reason).toMatch(/HOST=0\.0\.0\.0 .*npm run token/);
    expect(plan.issue === false && plan.reason).not.toMatch(/set AUTH_JWT_SECRET/);
  });

  it('should say to set AUTH_JWT_SECRET first when the secret was generated, which no minter knows', () => {
    const plan = developmentTokenPlan({ HOST: 'gateway.example.com', authSecretGenerated: true });
    expect(plan.issue === false && plan.reason).toMatch(/set AUTH_JWT_SECRET, then mint one/);
  });
});
