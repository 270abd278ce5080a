// Mounted once inside <Refine>: the re-login modal (requests wait for it, so unsaved form edits
// survive an ended session) and the "server down" banner.
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { Alert, Button, Form, Input, Modal } from "antd";
import { useQueryClient } from "@tanstack/react-query";
import { login } from "./http";
import { getLastEmail, sessionStore } from "./session";
import { metaKeys } from "./meta";

interface ReloginValues {
  email: string;
  password: string;
}

function ReloginModal({ open }: { open: boolean }) {
  const [form] = Form.useForm<ReloginValues>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const queryClient = useQueryClient();
  // Opening again shows no error of the last time (adjusted during the render, not in an effect,
  // so the modal never shows the old error for a frame).
  const [wasOpen, setWasOpen] = useState(open);
  if (open !== wasOpen) {
    setWasOpen(open);
    if (open) setError(null);
  }

  const submit = async (values: ReloginValues) => {
    setBusy(true);
    setError(null);
    try {
      await login(values.email, values.password);
      // Another user may have logged in; the waiting requests resume by themselves.
      void queryClient.invalidateQueries({ queryKey: metaKeys.me });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={open}
      title="Your session has ended"
      closable={false}
      maskClosable={false}
      keyboard={false}
      footer={null}
      destroyOnHidden
    >
      <div data-testid="relogin-modal">
        <p>Log in again to continue. Your unsaved changes are kept.</p>
        <Form
          form={form}
          name="relogin"
          layout="vertical"
          onFinish={submit}
          requiredMark={false}
          initialValues={{ email: getLastEmail(), password: "" }}
        >
          <Form.Item label="Email" name="email" rules={[{ required: true, message: "Enter your email" }]}>
            <Input autoComplete="username" />
          </Form.Item>
          <Form.Item label="Password" name="password" rules={[{ required: true, message: "Enter your password" }]}>
            <Input.Password autoComplete="current-password" autoFocus />
          </Form.Item>
          {error && (
            <Alert type="error" showIcon message={error} data-testid="relogin-error" style={{ marginBottom: 16 }} />
          )}
          <Button type="primary" htmlType="submit" loading={busy} block>
            Log in
          </Button>
        </Form>
      </div>
    </Modal>
  );
}

export function SessionGuards() {
  const state = useSyncExternalStore(sessionStore.subscribe, sessionStore.getSnapshot);
  const queryClient = useQueryClient();
  const wasDown = useRef(false);
  const [everExpired, setEverExpired] = useState(false);
  if (state.expired && !everExpired) setEverExpired(true);

  useEffect(() => {
    if (wasDown.current && !state.serverDown) {
      // Back: whatever failed or went stale while it was down is fetched again.
      void queryClient.invalidateQueries();
    }
    wasDown.current = state.serverDown;
  }, [state.serverDown, queryClient]);

  return (
    <>
      {state.serverDown && (
        <div
          data-testid="server-down"
          role="status"
          style={{ position: "fixed", top: 0, left: 0, right: 0, zIndex: 2000 }}
        >
          <Alert banner type="warning" showIcon message="Cannot reach the server — retrying…" />
        </div>
      )}
      {/* Mounted from the first time it opens on (an antd Modal costs its styles even closed). */}
      {(state.expired || everExpired) && <ReloginModal open={state.expired} />}
    </>
  );
}
