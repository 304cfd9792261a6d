/** GuestInfo and PowerState keep their names and values, now read from @vmw9/backdoor's tables. */
import { expect, it } from 'vitest';
import { GUESTINFO_TYPES, GuestInfo, POWER_STATES, PowerState } from '../src/index.js';

it('GuestInfo is the SetGuestInfo type table', () => {
  expect(GuestInfo).toBe(GUESTINFO_TYPES);
  expect(GuestInfo).toMatchObject({ DNS_NAME: 1, BUILD_NUMBER: 4, OS_NAME_FULL: 5, OS_NAME: 6, UPTIME: 7 });
});

it('PowerState names each power state id in upper case', () => {
  expect(PowerState).toEqual({ HALT: 1, REBOOT: 2, POWERON: 3, RESUME: 4, SUSPEND: 5 });
  expect(Object.isFrozen(PowerState)).toBe(true);
  for (const p of POWER_STATES)
    expect(PowerState[p.name.toUpperCase() as keyof typeof PowerState]).toBe(p.id);
});
