// The whitelist of dynamic-server keywords: typed values in, canonical server-line words out, nothing else.
import { describe, expect, it } from 'vitest';
import {
  checksHealth,
  renderServerOptions,
  SERVER_KEYWORDS,
  validServerOptions,
} from '../../../functions/lib/domain/server-options.js';
import { InvalidArgumentError } from '../../../functions/lib/errors.js';

describe('dynamic server options', () => {
  it('renders every keyword in one canonical order, durations in ms and flags bare', () => {
    const options = validServerOptions({
      alpn: 'h2,http/1.1',
      ssl: true,
      verify: 'required',
      'ca-file': '/etc/haproxy/ca.pem',
      sni: 'str(api.example.com)',
      fall: 3,
      rise: 2,
      inter: 2000,
      check: true,
      maxconn: 100,
      'send-proxy-v2': true,
      slowstart: 5000,
    });
    expect(renderServerOptions(options).join(' ')).toBe(
      'check inter 2000ms rise 2 fall 3 maxconn 100 slowstart 5000ms ssl verify required ca-file /etc/haproxy/ca.pem ' +
        'sni str(api.example.com) alpn h2,http/1.1 send-proxy-v2',
    );
    expect(checksHealth(options)).toBe(true);
  });

  it('drops a flag set to false and says no check is configured', () => {
    const options = validServerOptions({ check: false, maxconn: 5 });
    expect(renderServerOptions(options)).toEqual(['maxconn', '5']);
    expect(checksHealth(options)).toBe(false);
    expect(validServerOptions(undefined)).toEqual({});
  });

  it.each([
    ['an unknown keyword', { cookie: 'abc' }, /is not a keyword a dynamic server may take/],
    ['weight (it is the slot record’s)', { weight: 5 }, /is not a keyword/],
    ['init-state (3.1+ only)', { 'init-state': 'down' }, /is not a keyword/],
    ['free text in a flag', { check: 'yes; del server be/web1' }, /must be true or false/],
    ['a space in a path', { 'ca-file': '/etc/ca.pem check' }, /absolute path/],
    ['a relative path', { crt: 'client.pem' }, /absolute path/],
    ['a newline in alpn', { alpn: 'h2\nshow info' }, /protocol names/],
    ['an arbitrary sni expression', { sni: 'req.hdr(x-evil)' }, /str\(<host name>\)/],
    ['a negative duration', { inter: -1 }, /milliseconds/],
    ['a fractional count', { rise: 1.5 }, /integer from 1 to 1000/],
    ['an unknown enum value', { verify: 'optional' }, /none, required/],
    ['ssl without verify', { ssl: true }, /explicit verify/],
    ['check-ssl without verify', { 'check-ssl': true }, /explicit verify/],
    ['verify required without a ca-file', { ssl: true, verify: 'required' }, /needs a ca-file/],
    ['not an object', ['check'], /must be an object/],
  ])('refuses %s', (_name, value, message) => {
    expect(() => validServerOptions(value)).toThrow(InvalidArgumentError);
    expect(() => validServerOptions(value)).toThrow(message);
  });

  it('renders only whitelisted words, whatever a forged options array holds', () => {
    const forged = { 'check; del server be/web1': true } as never;
    expect(() => renderServerOptions(forged)).toThrow(InvalidArgumentError);
    const badValue = { inter: '2s; quit' } as never;
    expect(() => renderServerOptions(badValue)).toThrow(InvalidArgumentError);
  });

  it('has no keyword whose value could carry a space, a semicolon or a newline', () => {
    for (const keyword of Object.keys(SERVER_KEYWORDS)) expect(keyword).toMatch(/^[a-z0-9-]+$/);
  });
});
