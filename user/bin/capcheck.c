/*
 * Root task start-up: a boot module runs as a task of its own holding only
 * what the root task gave it: the boot endpoint and a (badged) send
 * capability to sigma0. Also checks what a module must not be able to do
 * (device memory and physical addresses without a capability).
 */
#include "user/lib/airlock.h"
#include "abi/airlock/boot.h"

int main(int argc, char **argv)
{
    (void)argc, (void)argv;
    struct al_cap_info ci;
    ktap_plan(6);
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
    /* device memory only by capability: none given, none mapped */
    ktap_result(al_iomem_map(AL_SLOT_IOMEM, AL_FPAGE(0xb8000, 12), 0x40000000, AL_MAP_RW) == -AL_EBADCAP &&
                    al_iomem_map(AL_SLOT_SIGMA0, AL_FPAGE(0xb8000, 12), 0x40000000, AL_MAP_RW) == -AL_EBADCAP,
                "no device memory without an iomem capability: EBADCAP");
    ktap_result(al_phys_addr(0x40000000) == -AL_EPERM, "no physical addresses without an iomem capability: EPERM");
    return ktap_failures();
}
