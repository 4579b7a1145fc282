/* The table of kernel object types; see object.h. */
#include "kernel/object.h"

const struct obj_ops *const obj_types[AL_CAP_TYPES] = {
    [AL_CAP_ENDPOINT] = &endpoint_ops,
    [AL_CAP_REPLY] = &reply_ops,
    [AL_CAP_TASK] = &task_ops,
    [AL_CAP_THREAD] = &thread_ops,
    [AL_CAP_IOPORT] = &ioport_ops,
    [AL_CAP_IRQ_CONTROL] = &irq_control_ops,
    [AL_CAP_IRQ] = &irq_ops,
    [AL_CAP_IOMEM] = &iomem_ops,
};
