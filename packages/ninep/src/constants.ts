/** Protocol constants shared by the codec, the server and the client (docs/protocol/9p.md §1, §8). */

export const NOTAG = 0xffff;
export const NOFID = 0xffffffff;
/** "No numeric uid" in Tauth/Tattach n_uname (.u/.L). */
export const NONUNAME = 0xffffffff;
/** Most names in one Twalk (and qids in one Rwalk). */
export const MAXWELEM = 16;
/** Header room of Tread/Rread/Twrite/Treaddir: the I/O payload limit is msize − IOHDRSZ. */
export const IOHDRSZ = 24;
/** The fixed part of a 9P2000 stat entry, including its own size[2]; .u adds 14. */
export const STATFIXLEN = 49;
export const STATFIXLENU = 63;
/** Smallest legal frame: size[4] type[1] tag[2]. */
export const HEADER_SIZE = 7;
/** Plan 9's error buffer: a Rerror ename is kept to ERRMAX − 1 bytes. */
export const ERRMAX = 128;

export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';
export const DIALECTS: readonly Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];

// qid.type bits
export const QTDIR = 0x80;
export const QTAPPEND = 0x40;
export const QTEXCL = 0x20;
export const QTMOUNT = 0x10;
export const QTAUTH = 0x08;
export const QTTMP = 0x04;
export const QTSYMLINK = 0x02;
export const QTLINK = 0x01;
export const QTFILE = 0x00;

// Plan 9 mode bits (stat.mode, Tcreate.perm)
export const DMDIR = 0x80000000;
export const DMAPPEND = 0x40000000;
export const DMEXCL = 0x20000000;
export const DMMOUNT = 0x10000000;
export const DMAUTH = 0x08000000;
export const DMTMP = 0x04000000;
export const DMSYMLINK = 0x02000000;
export const DMDEVICE = 0x00800000;
export const DMNAMEDPIPE = 0x00200000;
export const DMSOCKET = 0x00100000;
export const DMSETUID = 0x00080000;
export const DMSETGID = 0x00040000;

// Topen/Tcreate mode
export const OREAD = 0;
export const OWRITE = 1;
export const ORDWR = 2;
export const OEXEC = 3;
export const OTRUNC = 0x10;
export const ORCLOSE = 0x40;
/** Linux 9P2000.u sends it for O_APPEND; ignored. */
export const OAPPEND_U = 0x80;

// 9P2000.L open flags (Linux x86 values)
export const L_O_WRONLY = 0o1;
export const L_O_RDWR = 0o2;
export const L_O_CREAT = 0o100;
export const L_O_EXCL = 0o200;
export const L_O_TRUNC = 0o1000;
export const L_O_APPEND = 0o2000;

// Linux st_mode file types (Rgetattr.mode)
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

// Linux d_type (Rreaddir entries)
export const DT_DIR = 4;
export const DT_REG = 8;
export const DT_LNK = 10;

// Tgetattr request/valid mask
export const GETATTR_BASIC = 0x7ffn;
export const GETATTR_ALL = 0x3fffn;

// Tsetattr valid bits
export const SETATTR_MODE = 0x1;
export const SETATTR_UID = 0x2;
export const SETATTR_GID = 0x4;
export const SETATTR_SIZE = 0x8;
export const SETATTR_ATIME = 0x10;
export const SETATTR_MTIME = 0x20;
export const SETATTR_CTIME = 0x40;
export const SETATTR_ATIME_SET = 0x80;
export const SETATTR_MTIME_SET = 0x100;

/** Tunlinkat flag: remove a directory. */
export const AT_REMOVEDIR = 0x200;

// Tlock
export const LOCK_TYPE_RDLCK = 0;
export const LOCK_TYPE_WRLCK = 1;
export const LOCK_TYPE_UNLCK = 2;
export const LOCK_SUCCESS = 0;

/** Statfs type diod answers: v9fs's own magic. */
export const V9FS_MAGIC = 0x01021997;
