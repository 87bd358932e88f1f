/* virtio_attach: virtio-mmio devices on a VM: slot, MMIO window, interrupt, queue kicks and
 * teardown.
 *
 * A device in slot i answers at VM_VIRTIO_MMIO_BASE + i * VM_VIRTIO_MMIO_STRIDE and interrupts
 * on GSI VM_VIRTIO_GSI_BASE + i, edge-triggered (virtio_mmio's EDGE mode): through an irqfd
 * where the accelerator has one, else as a KVM_IRQ_LINE pulse. Queue kicks: where the
 * accelerator has ioeventfds, each queue's QueueNotify write (datamatch = the queue index)
 * signals an eventfd that the VM's I/O thread reads, and the device's notify() runs there with
 * the transport lock held; otherwise (and for values no eventfd matches) the write is an MMIO
 * exit handled on the vCPU thread, as before. Either way the transport checks the queue index.
 */
#ifndef VESSEL_VMM_VIRTIO_ATTACH_H
#define VESSEL_VMM_VIRTIO_ATTACH_H

#include "util/error.h"
#include "vmm/virtio/mmio.h"
#include "vmm/vm.h"

/* Attaches the device whose transport is m (initialised; its interrupt callback is replaced)
 * in the VM's next free slot and fills vm->virtio[] (name: m->ops->name). Takes ownership of
 * dev: destroy(dev) runs when the VM is torn down (after the I/O thread stopped), or at once
 * when this fails before the device is in the registry. m: inside dev. */
int virtio_attach(struct vm *vm, struct virtio_mmio *m, void (*destroy)(void *dev), void *dev,
		  struct error *err);
/* The VM's virtio devices, in this order: virtio-rng (always), cfg's disks, the network device
 * (cfg->tap), vsock (cfg->vsock_cid). cfg: borrowed, its strings copied or used only here. */
int virtio_attach_devices(struct vm *vm, const struct vm_config *cfg, struct error *err);

#endif
