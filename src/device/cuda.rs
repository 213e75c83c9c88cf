//! The CUDA driver, probed through `libcuda` without cudarc: cudarc panics in
//! a worker thread when the driver is missing, so tempora asks the driver
//! itself first (device count, names, memory) and checks that NVRTC loads.

/// Shared libraries of the CUDA driver API, tried in order.
const CUDA_DRIVER_LIBRARIES: [&str; 2] = ["libcuda.so.1", "libcuda.so"];
/// `CUDA_SUCCESS` in the driver API.
const CUDA_SUCCESS: i32 = 0;
/// Bytes reserved for a device name (`cuDeviceGetName`).
const CUDA_NAME_LEN: usize = 256;

/// The loaded CUDA driver, initialised.
pub(super) struct CudaDriver {
    lib: libloading::Library,
}

impl CudaDriver {
    /// Loads `libcuda` and calls `cuInit(0)`.
    pub(super) fn load() -> Result<Self, String> {
        let mut errors = Vec::new();
        for name in CUDA_DRIVER_LIBRARIES {
            // SAFETY: loading the CUDA driver runs its initialisers, which
            // have no preconditions on our side.
            match unsafe { libloading::Library::new(name) } {
                Ok(lib) => {
                    let driver = Self { lib };
                    // SAFETY: cuInit has this C signature in every driver API version.
                    let rc =
                        unsafe { driver.call::<unsafe extern "C" fn(u32) -> i32>(b"cuInit\0") }
                            .map(|f| unsafe { f(0) })?;
                    return match rc {
                        CUDA_SUCCESS => Ok(driver),
                        code => Err(format!("cuInit failed with CUresult {code}")),
                    };
                }
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        Err(format!("no CUDA driver library ({})", errors.join("; ")))
    }

    /// Looks up a driver symbol of type `F`.
    ///
    /// # Safety
    /// `F` must be the symbol's true C signature.
    unsafe fn call<F: Copy>(&self, symbol: &[u8]) -> Result<F, String> {
        let name = String::from_utf8_lossy(&symbol[..symbol.len().saturating_sub(1)]).into_owned();
        self.lib
            .get::<F>(symbol)
            .map(|s| *s)
            .map_err(|e| format!("the CUDA driver lacks {name}: {e}"))
    }

    pub(super) fn device_count(&self) -> Result<usize, String> {
        let mut count = 0i32;
        // SAFETY: cuDeviceGetCount(int*) per the driver API; cuInit succeeded.
        let rc = unsafe {
            let f = self.call::<unsafe extern "C" fn(*mut i32) -> i32>(b"cuDeviceGetCount\0")?;
            f(&mut count)
        };
        match rc {
            CUDA_SUCCESS => Ok(usize::try_from(count).unwrap_or(0)),
            code => Err(format!("cuDeviceGetCount failed with CUresult {code}")),
        }
    }

    pub(super) fn device_name(&self, index: usize) -> Result<String, String> {
        let ordinal = i32::try_from(index).map_err(|e| e.to_string())?;
        let mut device = 0i32;
        let mut name = [0u8; CUDA_NAME_LEN];
        // SAFETY: cuDeviceGet(CUdevice*, int) and cuDeviceGetName(char*, int,
        // CUdevice) per the driver API; the buffer outlives the call.
        unsafe {
            let get = self.call::<unsafe extern "C" fn(*mut i32, i32) -> i32>(b"cuDeviceGet\0")?;
            let get_name =
                self.call::<unsafe extern "C" fn(*mut u8, i32, i32) -> i32>(b"cuDeviceGetName\0")?;
            if get(&mut device, ordinal) != CUDA_SUCCESS
                || get_name(name.as_mut_ptr(), CUDA_NAME_LEN as i32, device) != CUDA_SUCCESS
            {
                return Err(format!("cannot query the name of cuda:{index}"));
            }
        }
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Ok(String::from_utf8_lossy(&name[..end]).into_owned())
    }

    /// Total memory of device `index` in bytes (`cuDeviceTotalMem_v2`).
    pub(super) fn total_memory(&self, index: usize) -> Result<u64, String> {
        let ordinal = i32::try_from(index).map_err(|e| e.to_string())?;
        let (mut device, mut bytes) = (0i32, 0usize);
        // SAFETY: cuDeviceGet(CUdevice*, int) and cuDeviceTotalMem_v2(size_t*,
        // CUdevice) per the driver API; cuInit succeeded.
        unsafe {
            let get = self.call::<unsafe extern "C" fn(*mut i32, i32) -> i32>(b"cuDeviceGet\0")?;
            let total = self
                .call::<unsafe extern "C" fn(*mut usize, i32) -> i32>(b"cuDeviceTotalMem_v2\0")?;
            if get(&mut device, ordinal) != CUDA_SUCCESS
                || total(&mut bytes, device) != CUDA_SUCCESS
            {
                return Err(format!("cannot query the memory of cuda:{index}"));
            }
        }
        Ok(bytes as u64)
    }
}

impl CudaDriver {
    /// Free and total memory of device `index` in bytes (`cuMemGetInfo_v2`
    /// in the device's primary context, retained for the call and released).
    pub(super) fn memory_info(&self, index: usize) -> Result<(u64, u64), String> {
        let ordinal = i32::try_from(index).map_err(|e| e.to_string())?;
        type Context = *mut std::ffi::c_void;
        let (mut device, mut context) = (0i32, std::ptr::null_mut::<std::ffi::c_void>());
        let (mut free, mut total) = (0usize, 0usize);
        // SAFETY: the driver API's C signatures: cuDeviceGet(CUdevice*, int),
        // cuDevicePrimaryCtxRetain(CUcontext*, CUdevice),
        // cuCtxPushCurrent_v2(CUcontext), cuMemGetInfo_v2(size_t*, size_t*),
        // cuCtxPopCurrent_v2(CUcontext*), cuDevicePrimaryCtxRelease_v2(CUdevice);
        // cuInit succeeded, and every pushed context is popped and released.
        unsafe {
            let get = self.call::<unsafe extern "C" fn(*mut i32, i32) -> i32>(b"cuDeviceGet\0")?;
            let retain = self.call::<unsafe extern "C" fn(*mut Context, i32) -> i32>(
                b"cuDevicePrimaryCtxRetain\0",
            )?;
            let push =
                self.call::<unsafe extern "C" fn(Context) -> i32>(b"cuCtxPushCurrent_v2\0")?;
            let info = self.call::<unsafe extern "C" fn(*mut usize, *mut usize) -> i32>(
                b"cuMemGetInfo_v2\0",
            )?;
            let pop =
                self.call::<unsafe extern "C" fn(*mut Context) -> i32>(b"cuCtxPopCurrent_v2\0")?;
            let release =
                self.call::<unsafe extern "C" fn(i32) -> i32>(b"cuDevicePrimaryCtxRelease_v2\0")?;
            if get(&mut device, ordinal) != CUDA_SUCCESS
                || retain(&mut context, device) != CUDA_SUCCESS
            {
                return Err(format!("cannot open a context on cuda:{index}"));
            }
            let rc = if push(context) == CUDA_SUCCESS {
                let rc = info(&mut free, &mut total);
                let mut popped = std::ptr::null_mut();
                pop(&mut popped);
                rc
            } else {
                -1
            };
            release(device);
            if rc != CUDA_SUCCESS {
                return Err(format!("cannot query the free memory of cuda:{index}"));
            }
        }
        Ok((free as u64, total as u64))
    }
}

/// Number of CUDA devices, or why CUDA cannot be used.
pub(super) fn probe_cuda() -> Result<usize, String> {
    let count = CudaDriver::load()?.device_count()?;
    if count > 0 {
        probe_nvrtc()?;
    }
    Ok(count)
}

/// Names under which the CUDA runtime compiler may be installed (the
/// unversioned link, then the sonames of CUDA 13 and 12).
const NVRTC_LIBRARIES: [&str; 3] = ["libnvrtc.so", "libnvrtc.so.13", "libnvrtc.so.12"];

/// Checks that NVRTC loads: burn's CUDA backend compiles its kernels with it
/// at run time and panics in a worker thread when it is missing.
fn probe_nvrtc() -> Result<(), String> {
    for name in NVRTC_LIBRARIES {
        // SAFETY: loading NVRTC runs its initialisers, which have no
        // preconditions on our side; nothing is called.
        if unsafe { libloading::Library::new(name) }.is_ok() {
            return Ok(());
        }
    }
    Err(format!(
        "the CUDA runtime compiler (NVRTC: {}) was not found, and the CUDA kernels are compiled \
         with it at run time; install the CUDA toolkit's NVRTC or add the directory that holds \
         it to LD_LIBRARY_PATH",
        NVRTC_LIBRARIES.join(", ")
    ))
}
