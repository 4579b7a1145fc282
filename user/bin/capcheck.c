/*
 * Root task start-up: a boot module runs as a task of its own holding only
 * what the root task gave it: the boot endpoint and a (badged) send
 * capability to sigma0. Also checks device memory through sigma0 (the VGA
 * text buffer) and what a module must not be able to do.
 */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct al_cap_info ci;
    ktap_plan(7);
    int others = 0;
    for (long s = 0; s < AL_CSPACE_SLOTS; s++)
        if (s != AL_SLOT_BOOT_EP && s != AL_SLOT_SIGMA0 && al_cap_info(s, &ci) != -AL_EBADCAP)
            others++;
    ktap_result(others == 0, "no capability besides the two given (%d others)", others);
    long r1 = al_cap_info(AL_SLOT_BOOT_EP, &ci);
    ktap_result(r1 == 0 && ci.type == AL_CAP_ENDPOINT && ci.rights == (AL_R_SEND | AL_R_RECV | AL_R_GRANT),
                "slot %d: the boot endpoint", AL_SLOT_BOOT_EP);
    long r2 = al_cap_info(AL_SLOT_SIGMA0, &ci);
    ktap_result(r2 == 0 && ci.type == AL_CAP_ENDPOINT && ci.rights == AL_R_SEND && ci.badge != 0,
                "slot %d: sigma0, send only, badged (%#lx)", AL_SLOT_SIGMA0, ci.badge);
    ktap_result(al_ipc(AL_IPC_RECV, 0, 0, AL_SLOT_SIGMA0, 0) == -AL_EPERM, "cannot receive sigma0's requests");
    ktap_result(al_device_map(0xb8000, 1) == -AL_EPERM, "cannot take device memory from the kernel itself");
    /* device memory through sigma0: the VGA text buffer, uncached */
    volatile uint16_t *vga = (volatile uint16_t *)0x40000000;
    long r = mem_device((void *)vga, 0xb8000, 12);
    int ok = r == 0 && al_map_info((unsigned long)vga) == (AL_MAP_RW | AL_MAP_MANAGED);
    if (ok) {
        vga[80 * 24 + 79] = 0x2f00 | '*';
        ok = vga[80 * 24 + 79] == (0x2f00 | '*');
    }
    ktap_result(ok, "device memory from sigma0: the VGA text buffer (%ld)", r);
    ktap_result(mem_device((void *)0x40100000, 0x100000, 12) < 0 && mem_device((void *)0x40100000, 0xfee00000, 12) < 0,
                "RAM and the local APIC are not device memory for users");
    return ktap_failures();
}
