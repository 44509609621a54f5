/*
 * A stand-in for libnccl.so.2 with NCCL's C signatures (nccl.h), compiled by NcclBindingTest to check the FFM
 * bindings on a machine without NCCL: each function records its arguments, and fake_* functions hand them back.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct { char internal[128]; } ncclUniqueId;
typedef struct ncclComm *ncclComm_t;
typedef void *cudaStream_t;

static ncclUniqueId last_id;
static int last_nranks, last_rank;
static int64_t last_args[9];
static int in_group;

int ncclGetVersion(int *version) { *version = 22703; return 0; }
int ncclGetUniqueId(ncclUniqueId *id) { for (int i = 0; i < 128; i++) id->internal[i] = (char) (i * 3 + 1); return 0; }
int ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank) {
  last_id = id; last_nranks = nranks; last_rank = rank;
  *comm = (ncclComm_t) (intptr_t) 0x1234;
  return rank < nranks ? 0 : 4; /* ncclInvalidArgument */
}
int ncclCommDestroy(ncclComm_t comm) { return 0; }
int ncclCommAbort(ncclComm_t comm) { last_args[0] = (int64_t) (intptr_t) comm; return 0; }
int ncclCommGetAsyncError(ncclComm_t comm, int *err) { *err = 7; return 0; }
const char *ncclGetErrorString(int r) { return r == 4 ? "invalid argument" : "other"; }
static int record(const void *a, const void *b, size_t c, int d, int e, int f, const void *g, const void *h) {
  last_args[0] = (int64_t) (intptr_t) a; last_args[1] = (int64_t) (intptr_t) b; last_args[2] = (int64_t) c;
  last_args[3] = d; last_args[4] = e; last_args[5] = f; last_args[6] = (int64_t) (intptr_t) g;
  last_args[7] = (int64_t) (intptr_t) h; last_args[8] = in_group;
  return 0;
}
int ncclAllReduce(const void *s, void *r, size_t n, int t, int op, ncclComm_t c, cudaStream_t st) {
  return record(s, r, n, t, op, -1, c, st);
}
int ncclBroadcast(const void *s, void *r, size_t n, int t, int root, ncclComm_t c, cudaStream_t st) {
  return record(s, r, n, t, -1, root, c, st);
}
int ncclReduce(const void *s, void *r, size_t n, int t, int op, int root, ncclComm_t c, cudaStream_t st) {
  return record(s, r, n, t, op, root, c, st);
}
int ncclAllGather(const void *s, void *r, size_t n, int t, ncclComm_t c, cudaStream_t st) {
  return record(s, r, n, t, -1, -1, c, st);
}
int ncclReduceScatter(const void *s, void *r, size_t n, int t, int op, ncclComm_t c, cudaStream_t st) {
  return record(s, r, n, t, op, -1, c, st);
}
int ncclSend(const void *s, size_t n, int t, int peer, ncclComm_t c, cudaStream_t st) {
  return record(s, 0, n, t, -1, peer, c, st);
}
int ncclRecv(void *r, size_t n, int t, int peer, ncclComm_t c, cudaStream_t st) {
  return record(0, r, n, t, -1, peer, c, st);
}
int ncclGroupStart(void) { in_group++; return 0; }
int ncclGroupEnd(void) { in_group--; return 0; }

void fake_last_init(char *id, int *nranks, int *rank) { memcpy(id, last_id.internal, 128); *nranks = last_nranks; *rank = last_rank; }
void fake_last_args(int64_t *out) { memcpy(out, last_args, sizeof last_args); }
